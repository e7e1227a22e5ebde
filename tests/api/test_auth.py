from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest
import websockets
from websockets.typing import Subprotocol

from services.errors import Unauthenticated
from services.identity.auth import mint_token
from tests.helpers import JWT_SECRET, GraphQLClient, Subscription

VIEWER = "{ viewer { id role fullName } }"


async def test_viewer_with_a_valid_token_creates_the_profile_once(
    gql: GraphQLClient, pg: asyncpg.Connection, admin_id: uuid.UUID
) -> None:
    data = await gql(VIEWER)
    assert data["viewer"] == {"id": str(admin_id), "role": "ADMIN", "fullName": "Ana Admin"}
    await gql(VIEWER)
    assert await pg.fetchval("SELECT count(*) FROM profiles WHERE id = $1", admin_id) == 1


async def test_an_agent_token_without_a_role_gets_agent(gql: GraphQLClient) -> None:
    sub = uuid.uuid4()
    token = jwt.encode(
        {"sub": str(sub), "exp": int(time.time()) + 60, "aud": "authenticated"},
        JWT_SECRET,
        algorithm="HS256",
    )
    data = await gql(VIEWER, token=token)
    assert data["viewer"]["role"] == "AGENT"


def _token(**claims: Any) -> dict[str, Any]:
    base = {
        "sub": str(uuid.uuid4()),
        "exp": int(time.time()) + 60,
        "aud": "authenticated",
        "app_metadata": {"role": "admin"},
    }
    base.update(claims)
    return base


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        jwt.encode(_token(), "another-secret-" + "y" * 40, algorithm="HS256"),  # forged
        jwt.encode(_token(exp=int(time.time()) - 5), JWT_SECRET, algorithm="HS256"),  # expired
        jwt.encode(_token(sub="not-a-uuid"), JWT_SECRET, algorithm="HS256"),
        jwt.encode({"sub": str(uuid.uuid4())}, JWT_SECRET, algorithm="HS256"),  # no exp
        jwt.encode(_token(), "", algorithm="none"),  # unsigned
    ],
    ids=["missing", "garbage", "forged", "expired", "bad-sub", "no-exp", "alg-none"],
)
async def test_refused_tokens_get_unauthenticated_and_store_nothing(server, pg, token):
    async with GraphQLClient(server.url) as client:
        error = await client.error(VIEWER, token=token)
    assert error.codes == ["UNAUTHENTICATED"]
    assert await pg.fetchval("SELECT count(*) FROM profiles") == 0


async def test_introspection_alone_works_without_a_token_for_graphiql(server):
    async with GraphQLClient(server.url) as client:
        data = await client("{ __schema { queryType { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_page_loads_without_a_token(server, gql):
    response = await gql.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize("key", ["Authorization", "authorization", "token"])
async def test_websocket_accepts_the_token_in_connection_init(server, admin_token, admin_id, key):
    token = admin_token if key != "token" else admin_token
    async with Subscription.connect(server.ws_url, token, payload_key=key) as sub:
        # Any operation works on the socket; a query proves the principal is known.
        await sub.subscribe(VIEWER)
        data = await sub.next_data()
    assert data["viewer"]["id"] == str(admin_id)


async def test_websocket_without_a_valid_token_is_closed(server):
    forged = mint_token("another-secret-" + "y" * 40, sub=uuid.uuid4(), role="admin")
    async with websockets.connect(
        server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {forged}"}}
            )
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_token_used_before_stops_working_when_it_expires(monkeypatch):
    # Verification is cached per token; expiry must still be checked on every use.
    from services.identity import auth

    verifier = auth.TokenVerifier(JWT_SECRET)
    token = jwt.encode(_token(exp=int(time.time()) + 30), JWT_SECRET, algorithm="HS256")
    assert (await verifier.verify(token)).role == "admin"
    later = time.time() + 31
    monkeypatch.setattr(auth, "wall_clock", lambda: later)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)
    with pytest.raises(Unauthenticated, match="invalid"):
        await auth.TokenVerifier("another secret of thirty-two bytes at least").verify(token)


@pytest.mark.parametrize(
    ("metadata", "email", "stored_name", "stored_email"),
    [
        ({"full_name": ["Ana", "Admin"]}, ["a@example.com"], None, None),
        ({"full_name": 42}, 7, None, None),
        ({"full_name": {"first": "Ana"}, "name": "Ana Fallback"}, True, "Ana Fallback", None),
        ({"full_name": "Ana\x00Admin"}, "ana\x00@example.com", "Ana Admin", None),
        ({"full_name": "Ana\ud800Admin"}, "ana@example.com\ud800", "Ana Admin", None),
        (
            {"full_name": "\u202eAna\nERROR fake\tlog\x1b[31m"},
            "ana@example.com",
            "Ana ERROR fake log [31m",
            "ana@example.com",
        ),
        ({"full_name": "   "}, "not an address", None, None),
        ({"full_name": "N" * 5000}, "a" * 400 + "@example.com", "N" * 200, None),
        ("not a dict", None, None, None),
    ],
    ids=[
        "lists",
        "numbers",
        "object-then-name",
        "nul",
        "lone-surrogate",
        "control-chars",
        "blank",
        "too-long",
        "metadata-not-object",
    ],
)
async def test_user_metadata_of_any_shape_is_cleaned_not_an_error(
    gql: GraphQLClient,
    pg: asyncpg.Connection,
    metadata: object,
    email: object,
    stored_name: str | None,
    stored_email: str | None,
) -> None:
    # Supabase users edit their own user_metadata, and it travels in their token.
    sub = uuid.uuid4()
    token = jwt.encode(
        _token(sub=str(sub), user_metadata=metadata, email=email), JWT_SECRET, algorithm="HS256"
    )
    data = await gql(VIEWER, token=token)
    assert data["viewer"] == {"id": str(sub), "role": "ADMIN", "fullName": stored_name}
    row = await pg.fetchrow("SELECT full_name, email FROM profiles WHERE id = $1", sub)
    assert row is not None
    assert (row["full_name"], row["email"]) == (stored_name, stored_email)


async def test_an_oversized_token_is_refused_before_any_work(server):
    async with GraphQLClient(server.url) as client:
        error = await client.error(VIEWER, token="x" * 20_000)
    assert error.codes == ["UNAUTHENTICATED"]
