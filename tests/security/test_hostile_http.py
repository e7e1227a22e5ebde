"""`POST /graphql` decides from the headers how much body it will read (issue 15, item 3), and a
malformed body is a 400 with a JSON `errors` list, never a 500 (item 4)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from server import create_app
from tests.conftest import JWT_SECRET
from tests.helpers import serve_app


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


async def test_a_declared_oversized_body_is_refused_before_it_is_read(server, admin_token):
    status, answer = await raw_request(
        server.url, head(100 * 1024 * 1024, token=admin_token), b'{"query": "'
    )
    assert status == 413 and b'"errors"' in answer and b"BAD_USER_INPUT" in answer


async def test_a_chunked_body_is_counted_while_it_arrives(server, admin_token):
    chunk = b"x" * 256 * 1024
    status, answer = await raw_request(
        server.url, head(None, token=admin_token), chunks=[chunk] * 5
    )  # 1.25 MB, never finished
    assert status == 413 and b"errors" in answer


async def test_without_a_token_a_large_body_is_not_read(server):
    status, answer = await raw_request(server.url, head(100 * 1024 * 1024), b'{"query": "')
    assert status == 413
    # A small body is still read: GraphiQL introspects before a token is pasted.
    body = b'{"query": "{ __schema { queryType { name } } }"}'
    status, answer = await raw_request(server.url, head(len(body)), body)
    assert status == 200 and b'"Query"' in answer


async def test_an_upload_without_a_token_is_refused_before_any_byte_is_spooled(server, pg):
    status, answer = await raw_request(
        server.url, head(100 * 1024 * 1024, "multipart/form-data; boundary=x"), b"--x\r\n"
    )
    assert status == 401 and b"UNAUTHENTICATED" in answer
    forged = "eyJhbGciOiJIUzI1NiJ9.e30.x"
    status, answer = await raw_request(
        server.url, head(100 * 1024 * 1024, "multipart/form-data; boundary=x", forged), b"--x"
    )
    assert status == 401 and b"UNAUTHENTICATED" in answer


async def test_an_upload_over_the_media_limit_is_refused(pg, settings, vault, admin_token):
    app = create_app(settings.with_overrides(media_max_bytes=1024), JWT_SECRET, vault)
    async with serve_app(app) as handle:
        status, _ = await raw_request(
            handle.url,
            head(3 * 1024 * 1024, "multipart/form-data; boundary=x", admin_token),
            b"--x\r\n",
        )
    assert status == 413


async def test_without_graphiql_an_anonymous_request_is_refused_unread(pg, settings, vault):
    app = create_app(settings.with_overrides(graphiql=False), JWT_SECRET, vault)
    async with serve_app(app) as handle:
        status, answer = await raw_request(handle.url, head(1000), b"{")
    assert status == 401 and b"UNAUTHENTICATED" in answer


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"123",
        b"true",
        b'"abc"',
        b"[1]",
        b"{",
        b"\xff\xfe",
        b"[" * 100_000,
        b'{"query": 5}',
    ],
)
async def test_a_malformed_body_is_a_400_with_errors(server, admin_token, body):
    status, answer = await raw_request(server.url, head(len(body), token=admin_token), body)
    assert status == 400, answer
    assert b'"errors"' in answer and b"BAD_USER_INPUT" in answer
