"""How much of a `POST /graphql` body is read, decided from the headers before reading any.

A caller without a valid token may send at most a small JSON body (GraphiQL's introspection
query) and no upload; a signed-in caller a JSON body up to GRAPHQL_MAX_BODY_BYTES, or a multipart
upload up to MEDIA_MAX_BYTES plus room for the operation itself. A body over its limit is
refused with 413 as soon as the declared length (or, for a chunked body, the running count)
passes it: the rest is never read.
"""

from __future__ import annotations

from starlette.types import Message, Receive

# GraphiQL's full introspection query is about 2 KB; anything an anonymous caller may run fits.
ANONYMOUS_MAX_BYTES = 64 * 1024
# The operation, the map and the multipart framing around an upload.
MULTIPART_MARGIN_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The body passed its limit; nothing more of it is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


def body_limit(*, signed_in: bool, multipart: bool, json_max: int, media_max: int) -> int | None:
    """The most bytes this caller may send; None when this kind of body is refused unread."""
    if not signed_in:
        return None if multipart else min(ANONYMOUS_MAX_BYTES, json_max)
    return media_max + MULTIPART_MARGIN_BYTES if multipart else json_max


def declared_length(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def capped(receive: Receive, limit: int) -> Receive:
    """`receive` that raises BodyTooLarge once more than `limit` body bytes have arrived."""
    received = 0

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counting
