"""Bearer tokens as Supabase Auth issues them.

Two kinds are accepted side by side:
- asymmetric tokens (ES256, RS256) signed by one of the keys the project publishes as a JWKS
  (`services/identity/jwks.py`), when the project URL or `SUPABASE_JWKS_URL` is configured;
- HS256 tokens signed with the shared secret (Supabase's legacy secret, or the one generated
  for a local install).
Claims: `sub` is the profile id, `app_metadata.role` the role, `aud` must be `authenticated`,
`exp` is required and checked on every use, and `iss` must be `<project URL>/auth/v1` when the
project URL is known.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from services.errors import Unauthenticated
from services.identity.jwks import KeySet, SigningKey

Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")
# A fixed id for the administrator of a local install, so its profile survives restarts.
LOCAL_ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000a0a0")
AUDIENCE = "authenticated"
ASYMMETRIC = ("ES256", "RS256")
NAME_MAX = 200
EMAIL_MAX = 320
# Supabase's access tokens are around 1 KB; a much longer one is refused before any work.
TOKEN_MAX = 16 * 1024
# Control characters, lone surrogates (PostgreSQL cannot store them) and the bidirectional
# overrides that make a name read differently from what it is.
# Read through this name so tests can move time forward without waiting.
wall_clock: Callable[[], float] = time.time
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Principal:
    profile_id: uuid.UUID
    role: Role
    email: str | None = None
    name: str | None = None
    # When the token expires (epoch seconds); a websocket is closed then.
    expires_at: float = math.inf

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def bearer_value(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` value (a bare token is accepted too)."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if not token:
        return scheme or None
    return token.strip() if scheme.lower() == "bearer" else None


def issuer_of(supabase_url: str | None) -> str | None:
    """The `iss` Supabase Auth puts in the tokens of the project at `supabase_url`."""
    return f"{supabase_url.rstrip('/')}/auth/v1" if supabase_url else None


def jwks_url_of(supabase_url: str | None) -> str | None:
    """Where the project at `supabase_url` publishes its signing keys."""
    return f"{supabase_url.rstrip('/')}/auth/v1/.well-known/jwks.json" if supabase_url else None


class TokenVerifier:
    """Verifies bearer tokens; a verified token is cached, its expiry checked on every use."""

    def __init__(
        self,
        secret: str | None,
        *,
        issuer: str | None = None,
        keys: KeySet | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.secret = secret
        self.issuer = issuer
        self.keys = keys
        self._cache_size = cache_size
        # token -> (principal, kid of the signing key or None for the shared secret)
        self._verified: OrderedDict[str, tuple[Principal, str | None]] = OrderedDict()

    async def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("Authentication required: send Authorization: Bearer <token>")
        if len(token) > TOKEN_MAX:
            raise Unauthenticated("The token is invalid")
        cached = self._verified.get(token)
        if cached is None:
            # Failures are not cached. Verifying was a few percent of a request's CPU, and a
            # client sends the same token with every request.
            cached = await self._verify_signature(token)
            self._remember(token, cached)
        else:
            self._verified.move_to_end(token)
        principal, kid = cached
        if wall_clock() >= principal.expires_at:
            raise Unauthenticated("The token has expired")
        if kid is not None and self.keys is not None and not self.keys.has(kid):
            # The key was revoked (no longer published) since this token was verified.
            self._verified.pop(token, None)
            raise Unauthenticated("The token's signing key is no longer published")
        return principal

    async def aclose(self) -> None:
        if self.keys is not None:
            await self.keys.aclose()

    def _remember(self, token: str, entry: tuple[Principal, str | None]) -> None:
        self._verified[token] = entry
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)

    async def _verify_signature(self, token: str) -> tuple[Principal, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is invalid") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg == "HS256" and self.secret:
            return principal_from_claims(decode(token, self.secret, "HS256", self.issuer)), None
        if alg in ASYMMETRIC and self.keys is not None and isinstance(kid, str):
            key: SigningKey | None = await self.keys.key(kid)
            if key is None:
                raise Unauthenticated("The token is signed by a key the project does not publish")
            # The key decides the algorithm, never the token: no HS256 against a public key.
            if key.algorithm != alg:
                raise Unauthenticated("The token is invalid")
            return principal_from_claims(decode(token, key.key, key.algorithm, self.issuer)), kid
        raise Unauthenticated("The token is invalid")


def decode(token: str, key: Any, algorithm: str, issuer: str | None) -> dict[str, Any]:
    """The claims of a token signed with `key` by `algorithm`, its standard claims checked."""
    required = ["sub", "exp", "aud"] + (["iss"] if issuer else [])
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=AUDIENCE,
            issuer=issuer,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("The token was issued by another project") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("The token is not for authenticated users (aud)") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is invalid") from None
    return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        profile_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthenticated("The token's subject is not a profile id") from None
    app_metadata = claims.get("app_metadata")
    claimed = app_metadata.get("role") if isinstance(app_metadata, dict) else None
    # Supabase users without an assigned role get the least privilege.
    role: Role = next((r for r in ROLES if r == claimed), "agent")
    # Users edit their own user_metadata (and it reaches the token): keep only clean text.
    user_metadata = claims.get("user_metadata")
    name = None
    if isinstance(user_metadata, dict):
        name = clean_name(user_metadata.get("full_name")) or clean_name(user_metadata.get("name"))
    return Principal(profile_id, role, clean_email(claims.get("email")), name, float(claims["exp"]))


def clean_name(value: object) -> str | None:
    """A display name from a claim: text only, unprintable characters turned into spaces,
    whitespace collapsed, at most NAME_MAX characters."""
    if not isinstance(value, str):
        return None
    return " ".join(_UNPRINTABLE.sub(" ", value).split())[:NAME_MAX] or None


def clean_email(value: object) -> str | None:
    """An e-mail address from a claim, or None when the claim is not a plausible one."""
    if not isinstance(value, str) or not 3 <= len(value) <= EMAIL_MAX or "@" not in value:
        return None
    if _UNPRINTABLE.search(value) or any(c.isspace() for c in value):
        return None
    return value


def mint_token(
    secret: str,
    *,
    sub: uuid.UUID,
    role: Role,
    ttl_seconds: int = 7 * 24 * 3600,
    email: str | None = None,
    name: str | None = None,
    issuer: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(sub),
        "role": "authenticated",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "app_metadata": {"role": role},
    }
    if issuer:
        claims["iss"] = issuer
    if email:
        claims["email"] = email
    if name:
        claims["user_metadata"] = {"full_name": name}
    return jwt.encode(claims, secret, algorithm="HS256")
