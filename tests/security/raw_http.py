"""Requests written byte by byte, for what an HTTP client library will not send."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


async def raw_request(
    url: str, head: str, body: bytes = b"", *, chunks: list[bytes] | None = None
) -> tuple[int, bytes]:
    """Send a request's head and only `body` (or `chunks`, chunked) without finishing it, and
    read the answer: a server that waits for the rest of the body never answers."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        for chunk in chunks or []:
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        length = next(
            int(line.split(b":")[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        answer = await asyncio.wait_for(reader.readexactly(length), timeout=10)
        return int(status_line.split()[1]), answer
    finally:
        writer.close()


def head(
    length: int | None, content_type: str = "application/json", token: str | None = None
) -> str:
    lines = ["POST /graphql HTTP/1.1", "Host: test", f"Content-Type: {content_type}"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\n".join(lines) + "\n"
