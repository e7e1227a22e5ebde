"""Tokens signed with the asymmetric keys a Supabase project publishes (JWKS), against a real
key endpoint on loopback: accepted, rotated, revoked, refused, and survived outages."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.typing import Subprotocol

from server import create_app
from services.identity import jwks
from services.identity.auth import mint_token
from services.platform.crypto import Vault
from services.platform.settings import Settings
from tests.helpers import JWT_SECRET, GraphQLClient, ServerHandle, Subscription, serve_app, wait_for
from tests.supabase_keys import (
    KeyEndpoint,
    SigningKey,
    hs256_with,
    key_endpoint,
    supabase_claims,
)

VIEWER = "{ viewer { id role fullName } }"


class Clock:
    """Monotonic time as the key cache sees it, moved forward without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def es_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture
def rs_key() -> SigningKey:
    return SigningKey.generate("RS256")


@pytest.fixture
async def keys(es_key: SigningKey, rs_key: SigningKey) -> AsyncIterator[KeyEndpoint]:
    async for endpoint in key_endpoint([es_key, rs_key]):
        yield endpoint


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(jwks, "monotonic", fake)
    return fake


@pytest.fixture
async def supabase(
    pg: asyncpg.Connection, settings: Settings, vault: Vault, keys: KeyEndpoint, clock: Clock
) -> AsyncIterator[ServerHandle]:
    """Our server pointed at the Supabase project whose keys `keys` publishes."""
    app = create_app(settings.with_overrides(supabase_url=keys.url), JWT_SECRET, vault)
    async with serve_app(app) as handle:
        handle.runtime = app.state.runtime
        await wait_for(lambda: keys.requests >= 1)  # the keys fetched at start-up
        yield handle


async def viewer(server: ServerHandle, token: str) -> dict[str, Any]:
    async with GraphQLClient(server.url, token) as client:
        return await client.raw(VIEWER)


def refused(body: dict[str, Any]) -> str:
    """The message of an UNAUTHENTICATED answer (fails on anything else)."""
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
async def test_tokens_signed_with_published_keys_are_accepted(supabase, keys, pg, algorithm):
    key = next(k for k in keys.published if k.algorithm == algorithm)
    claims = supabase_claims(keys.issuer)
    body = await viewer(supabase, key.sign(claims))
    assert body["data"]["viewer"] == {
        "id": claims["sub"],
        "role": "ADMIN",
        "fullName": "Carla Supabase",
    }
    stored = await pg.fetchrow(
        "SELECT email, role FROM profiles WHERE id = $1", uuid.UUID(claims["sub"])
    )
    assert dict(stored) == {"email": "carla@example.com", "role": "admin"}


async def test_a_key_published_after_start_is_accepted(supabase, keys, clock):
    # Supabase publishes a standby key before it starts signing with it.
    assert "errors" not in await viewer(
        supabase, keys.published[0].sign(supabase_claims(keys.issuer))
    )
    fetched = keys.requests
    standby = SigningKey.generate("ES256")
    keys.published.append(standby)
    clock.advance(jwks.KeySet(keys.url).refetch_interval)
    body = await viewer(supabase, standby.sign(supabase_claims(keys.issuer)))
    assert "errors" not in body, body
    assert keys.requests == fetched + 1  # one refetch for the unknown kid


async def test_a_key_that_is_no_longer_published_stops_working(supabase, keys, es_key, clock):
    token = es_key.sign(supabase_claims(keys.issuer))
    assert "errors" not in await viewer(supabase, token)
    keys.published.remove(es_key)  # revoked
    clock.advance(3600)  # past the cache's lifetime: the next use refreshes the keys

    async def refused_now() -> bool:
        return "errors" in await viewer(supabase, token)

    await wait_for(refused_now)
    assert "publish" in refused(await viewer(supabase, token))


async def test_a_token_signed_by_an_unpublished_key_is_refused(supabase, keys, es_key, pg):
    stranger = SigningKey.generate("ES256")
    claims = supabase_claims(keys.issuer)
    assert "does not publish" in refused(await viewer(supabase, stranger.sign(claims)))
    # Someone else's key claiming a published kid fails the signature check.
    refused(await viewer(supabase, stranger.sign(claims, kid=es_key.kid)))
    assert await pg.fetchval("SELECT count(*) FROM profiles") == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iss": "https://another-project.supabase.co/auth/v1"}, "another project"),
        ({"iss": None}, "invalid"),
        ({"aud": "anon"}, "aud"),
        ({"aud": None}, "invalid"),
        ({"exp": None}, "invalid"),
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"sub": "not-a-uuid"}, "subject"),
    ],
    ids=["other-issuer", "no-issuer", "wrong-aud", "no-aud", "no-exp", "expired", "bad-sub"],
)
async def test_claims_supabase_sets_are_checked(supabase, keys, es_key, pg, overrides, message):
    claims = supabase_claims(keys.issuer, **overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    assert message in refused(await viewer(supabase, es_key.sign(claims)))
    assert await pg.fetchval("SELECT count(*) FROM profiles") == 0


def _public_pem(key: SigningKey) -> bytes:
    pem: bytes = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


async def test_the_key_decides_the_algorithm_not_the_token(supabase, keys, es_key, rs_key, pg):
    claims = supabase_claims(keys.issuer)
    forged = [
        # HS256 keyed with a public key, in the forms an attacker would try.
        hs256_with(_public_pem(rs_key), claims, rs_key.kid),
        hs256_with(_public_pem(es_key), claims, es_key.kid),
        hs256_with(json.dumps(rs_key.jwk()).encode(), claims, rs_key.kid),
        # Unsigned.
        jwt.encode(claims, "", algorithm="none", headers={"kid": es_key.kid}),
        # A real signature presented under another key's kid and algorithm.
        es_key.sign(claims, kid=rs_key.kid),
        rs_key.sign(claims, kid=es_key.kid),
    ]
    for token in forged:
        refused(await viewer(supabase, token))
    assert await pg.fetchval("SELECT count(*) FROM profiles") == 0


async def test_an_outage_of_the_key_endpoint_is_survived_with_cached_keys(
    supabase, keys, es_key, rs_key, clock
):
    assert "errors" not in await viewer(supabase, es_key.sign(supabase_claims(keys.issuer)))
    await keys.stop()
    clock.advance(3600)  # the cache is stale: refreshing fails while the endpoint is down
    for key in (es_key, rs_key, es_key):
        body = await viewer(supabase, key.sign(supabase_claims(keys.issuer)))
        assert "errors" not in body, body
    # An unknown key during the outage is a clean refusal, not an error.
    refused(await viewer(supabase, SigningKey.generate().sign(supabase_claims(keys.issuer))))


async def test_random_kids_cannot_make_us_hammer_the_key_endpoint(supabase, keys, clock):
    assert "errors" not in await viewer(
        supabase, keys.published[0].sign(supabase_claims(keys.issuer))
    )
    fetched = keys.requests
    stranger = SigningKey.generate("ES256")

    async def burst() -> None:
        bodies = await asyncio.gather(
            *(
                viewer(supabase, stranger.sign(supabase_claims(keys.issuer), kid=str(uuid.uuid4())))
                for _ in range(20)
            )
        )
        for body in bodies:
            refused(body)

    await burst()
    assert keys.requests <= fetched + 1  # at most one refetch per interval, however many kids
    clock.advance(jwks.KeySet(keys.url).refetch_interval)
    before = keys.requests
    await burst()
    assert keys.requests == before + 1


async def test_the_legacy_secret_keeps_working_beside_the_keys(supabase, keys, admin_id):
    token = mint_token(JWT_SECRET, sub=admin_id, role="admin", issuer=keys.issuer)
    body = await viewer(supabase, token)
    assert body["data"]["viewer"]["id"] == str(admin_id)
    # Supabase's legacy tokens name the project too; one that does not is refused.
    refused(await viewer(supabase, mint_token(JWT_SECRET, sub=admin_id, role="admin")))


async def test_websockets_verify_supabase_tokens_too(supabase, keys, es_key):
    claims = supabase_claims(keys.issuer)
    async with Subscription.connect(supabase.ws_url, es_key.sign(claims)) as sub:
        await sub.subscribe(VIEWER)
        assert (await sub.next_data())["viewer"]["id"] == claims["sub"]
    stranger = SigningKey.generate("ES256").sign(claims)
    async with websockets.connect(
        supabase.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {stranger}"}}
            )
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_an_explicit_jwks_url_needs_no_project_url(pg, settings, vault, keys, es_key, clock):
    app = create_app(
        settings.with_overrides(supabase_jwks_url=keys.url + "/auth/v1/.well-known/jwks.json"),
        JWT_SECRET,
        vault,
    )
    async with serve_app(app) as handle:
        # The issuer is unknown, so any project's tokens signed by these keys are accepted.
        claims = supabase_claims("https://elsewhere.example/auth/v1")
        body = await viewer(handle, es_key.sign(claims))
    assert body["data"]["viewer"]["id"] == claims["sub"]


async def test_an_unreachable_key_endpoint_at_start_refuses_cleanly():
    keyset = jwks.KeySet("http://127.0.0.1:9/auth/v1/.well-known/jwks.json")
    try:
        assert await keyset.key("some-kid") is None
    finally:
        await keyset.aclose()


def test_only_public_signing_keys_of_the_expected_kinds_are_used(es_key, rs_key):
    symmetric = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"}
    mislabelled = {**es_key.jwk(), "kid": "liar", "alg": "RS256"}
    encryption = {**rs_key.jwk(), "kid": "enc", "use": "enc"}
    weak = SigningKey.generate("RS256")
    weak.private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    parsed = jwks.parse_key_set(
        {
            "keys": [
                es_key.jwk(),
                rs_key.jwk(),
                symmetric,
                mislabelled,
                encryption,
                {**weak.jwk(), "kid": "weak"},
                "garbage",
                {"kid": 5},
            ]
        }
    )
    assert {kid: key.algorithm for kid, key in parsed.items()} == {
        es_key.kid: "ES256",
        rs_key.kid: "RS256",
    }
    with pytest.raises(ValueError):
        jwks.parse_key_set({"not": "a key set"})
