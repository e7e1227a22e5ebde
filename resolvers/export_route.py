"""`GET /exports/{contact id}?exp=…&sig=…`: the zip of everything kept about a person.

No Authorization header, like media links: the signed, expiring query handed out by
`exportContactData` (after its membership check) is the permission. 403 for a tampered or
expired link, 404 once the contact is gone (erased).
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.platform.runtime import Runtime
from services.privacy import export


def export_route(runtime: Runtime) -> Route:
    async def download(request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        expires, sig = request.query_params.get("exp"), request.query_params.get("sig")
        if not export.verify(runtime.vault.media_url_key(), contact_id, expires, sig):
            return _error(403, "invalid or expired export link; ask the API for a new one")
        try:
            chunks = await export.stream(runtime, uuid.UUID(contact_id))
        except ValueError:
            chunks = None
        if chunks is None:
            return _error(404, "contact not found")
        return StreamingResponse(
            chunks,
            media_type="application/zip",
            headers={
                "content-disposition": f'attachment; filename="dados-{contact_id}.zip"',
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
            },
        )

    return Route(export.EXPORT_PATH + "/{contact_id}", download, methods=["GET"])


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"cache-control": "no-store"}
    )
