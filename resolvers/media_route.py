"""`GET /media/{message id}?exp=…&sig=…[&format=m4a|mp3]`: a message's media for a browser.

No Authorization header: the signed, expiring query (services/media/links.py) is the
permission, so `<audio src>` and `<img src>` work as they are. A tampered or expired link is
refused with 403. The answer has the stored Content-Type, supports `Range` (seeking in audio and
video) and `If-None-Match` (ETag), and is cacheable by the browser until the link expires.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.media import links as media_links
from services.media.serving import MediaMissing, MediaObject, RenditionFailed, locate
from services.media.store import MediaStore
from services.platform.runtime import Runtime

log = logging.getLogger("atendimento.media")

RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def media_route(runtime: Runtime) -> Route:
    async def media(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        fmt = request.query_params.get("format", "original")
        expires, sig = request.query_params.get("exp"), request.query_params.get("sig")
        key = runtime.vault.media_url_key()
        if not media_links.verify(key, message_id, fmt, expires, sig):
            expired = (
                expires is not None
                and expires.isascii()
                and expires.isdigit()
                and len(expires) <= 12
                and int(expires) <= time.time()
                and media_links.verify(key, message_id, fmt, expires, sig, now=0)
            )
            return _error(
                403,
                "this media link has expired; ask the API for a new one"
                if expired
                else "invalid media link",
            )
        try:
            found = await locate(runtime, uuid.UUID(message_id), fmt)
        except ValueError:
            return _error(404, "message not found")
        except MediaMissing as missing:
            return _error(404, str(missing))
        except RenditionFailed as failed:
            return _error(415, str(failed))
        return _answer(request, found, int(expires or 0), runtime.media)

    return Route(media_links.MEDIA_PATH + "/{message_id}", media, methods=["GET", "HEAD"])


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=status, headers={"cache-control": "no-store"}
    )


def _answer(request: Request, found: MediaObject, expires: int, store: MediaStore) -> Response:
    headers = {
        "etag": found.etag,
        "accept-ranges": "bytes",
        # The bytes behind a link never change; the browser may keep them while it is valid.
        "cache-control": f"private, max-age={max(0, expires - int(time.time()))}, immutable",
        "x-content-type-options": "nosniff",
        "cross-origin-resource-policy": "cross-origin",
        "content-disposition": _disposition(found),
    }
    if not found.content_type.startswith("application/pdf"):
        # Opened as a page, a file can run nothing (an HTML or SVG document, say).
        headers["content-security-policy"] = (
            "sandbox; default-src 'none'; img-src 'self'; "
            "media-src 'self'; style-src 'unsafe-inline'"
        )
    if _matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)

    content_type = found.content_type
    if content_type.startswith("text/") and "charset" not in content_type:
        content_type += "; charset=utf-8"
    start, length, status = 0, found.size, 200
    requested = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if requested and (if_range is None or if_range.strip() == found.etag):
        try:
            bounds = _range(requested, found.size)
        except ValueError:
            bounds = (0, found.size - 1)  # a malformed Range is ignored (RFC 9110 §14.2)
            requested = None
        if bounds is None:
            headers["content-range"] = f"bytes */{found.size}"
            return Response(status_code=416, headers=headers)
        if requested:
            # Even `bytes=0-` gets a 206: that is how a media element learns it can seek.
            start, end = bounds
            length, status = end - start + 1, 206
            headers["content-range"] = f"bytes {start}-{end}/{found.size}"
    headers["content-length"] = str(length)
    if request.method == "HEAD" or length == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    return StreamingResponse(
        store.stream(found.key, start, length),
        status_code=status,
        headers=headers,
        media_type=content_type,
    )


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _range(header: str, size: int) -> tuple[int, int] | None:
    """One byte range (first and last byte) of `bytes=a-b`, `bytes=a-` or `bytes=-n`; None when
    it cannot be satisfied; ValueError when it is malformed. Several ranges are answered with
    the first."""
    match = RANGE.fullmatch(header.strip().split(",")[0].strip())
    if match is None or not any(match.groups()):
        raise ValueError(header)
    if size == 0:
        return None
    first, last = match.groups()
    if not first:
        suffix = int(last)
        return None if suffix == 0 else (max(0, size - suffix), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def _disposition(found: MediaObject) -> str:
    kind = "inline" if found.inline else "attachment"
    name = found.file_name or "arquivo"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
