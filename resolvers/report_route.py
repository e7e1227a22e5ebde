"""`GET /reports/conversations.csv?instanceId=&from=&to=`: the report per conversation, as a
spreadsheet opens it (UTF-8 with a byte-order mark, CRLF lines, formula-safe cells).

Authenticated like the API (`Authorization: Bearer <jwt>`); the same visibility rules as
`report`: what you may not see is a 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.errors import AppError, BadInput
from services.identity.auth import bearer_value
from services.inbox.reports import conversations_csv
from services.platform.runtime import Runtime

STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_USER_INPUT": 400,
}


def _instant(request: Request, name: str) -> datetime:
    value = request.query_params.get(name)
    if not value:
        raise BadInput(f"{name} is required (ISO 8601 with an offset or Z)", field=name)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} is not an ISO 8601 time", field=name) from None


def report_route(runtime: Runtime) -> Route:
    async def conversations(request: Request) -> Response:
        try:
            principal = await runtime.tokens.verify(
                bearer_value(request.headers.get("authorization"))
            )
            await runtime.profiles.ensure(runtime.db, principal)
            raw_instance = request.query_params.get("instanceId") or None
            try:
                instance_id = uuid.UUID(raw_instance) if raw_instance else None
            except ValueError:
                raise BadInput("instanceId is not a valid id", field="instanceId") from None
            body = await conversations_csv(
                runtime,
                principal,
                instance_id,
                _instant(request, "from"),
                _instant(request, "to"),
            )
        except AppError as error:
            return JSONResponse(
                {"errors": [{"message": error.message, "extensions": error.extensions}]},
                status_code=STATUS.get(error.code, 400),
                headers={"cache-control": "no-store"},
            )
        return Response(
            "\ufeff" + body,
            media_type="text/csv; charset=utf-8",
            headers={
                "content-disposition": 'attachment; filename="conversations.csv"',
                "cache-control": "no-store",
            },
        )

    return Route("/reports/conversations.csv", conversations, methods=["GET"])
