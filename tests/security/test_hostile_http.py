"""`POST /graphql` decides from the headers how much body it will read (issue 15, item 3), and a
malformed body is a 400 with a JSON `errors` list, never a 500 (item 4)."""

from __future__ import annotations

import pytest

from server import create_app
from tests.helpers import JWT_SECRET, serve_app
from tests.security.raw_http import head, raw_request


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
