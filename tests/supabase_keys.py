"""A stand-in for Supabase Auth's key endpoint on a loopback port, and tokens signed the way
Supabase signs them (ES256 by default, RS256 possible), for the JWKS tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.helpers import serve_app

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: Any

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> SigningKey:
        private = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm == "ES256"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        return cls(str(uuid.uuid4()), algorithm, private)

    def jwk(self) -> dict[str, Any]:
        codec = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        data: dict[str, Any] = codec.to_jwk(self.private.public_key(), as_dict=True)
        return {
            **data,
            "kid": self.kid,
            "alg": self.algorithm,
            "use": "sig",
            "key_ops": ["verify"],
            "ext": True,
        }

    def sign(self, claims: dict[str, Any], kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid}
        )


def supabase_claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    """The claims Supabase Auth puts in a user's access token."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "email": "carla@example.com",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"], "role": "admin"},
        "user_metadata": {"full_name": "Carla Supabase", "email_verified": True},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    claims.update(overrides)
    return claims


def hs256_with(secret: bytes, claims: dict[str, Any], kid: str) -> str:
    """An HS256 token whose HMAC key is `secret`, written by hand: PyJWT refuses to use a
    public key as an HMAC secret, which is the attack this token is for."""

    def part(value: object) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@dataclass
class KeyEndpoint:
    """Serves `published` as a JWKS and counts the requests it answers."""

    url: str = ""
    published: list[SigningKey] = field(default_factory=list)
    requests: int = 0
    _stack: AsyncExitStack | None = None

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    async def stop(self) -> None:
        """Take the endpoint down: connections are refused from now on."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


async def key_endpoint(published: list[SigningKey]) -> AsyncIterator[KeyEndpoint]:
    endpoint = KeyEndpoint(published=published)

    async def jwks(request: Request) -> JSONResponse:
        endpoint.requests += 1
        return JSONResponse(
            {"keys": [key.jwk() for key in endpoint.published]},
            headers={"cache-control": "public, max-age=600"},
        )

    app = Starlette(routes=[Route(JWKS_PATH, jwks)])
    endpoint._stack = AsyncExitStack()
    handle = await endpoint._stack.enter_async_context(serve_app(app))
    endpoint.url = handle.url
    try:
        yield endpoint
    finally:
        await endpoint.stop()
