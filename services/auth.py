"""Bearer tokens: Supabase-style HS256 JWTs (`sub` = profile id, `app_metadata.role`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jwt

from services.errors import Unauthenticated

Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")
# A fixed id for the administrator of a local install, so its profile survives restarts.
LOCAL_ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000a0a0")


@dataclass(frozen=True)
class Principal:
    profile_id: uuid.UUID
    role: Role
    email: str | None = None
    name: str | None = None

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


def verify_token(token: str | None, secret: str) -> Principal:
    if not token:
        raise Unauthenticated("Authentication required: send Authorization: Bearer <token>")
    principal, expires_at = _verified(token, secret)
    if time.time() >= expires_at:  # checked on every use: the verification itself is cached
        raise Unauthenticated("The token has expired")
    return principal


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Principal, float]:
    """A token's principal and expiry. Cached: a client sends the same token with every request,
    and verifying it was a few percent of a request's CPU. Failures are not cached."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is invalid") from None
    try:
        profile_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthenticated("The token's subject is not a profile id") from None
    app_metadata = claims.get("app_metadata") or {}
    role = app_metadata.get("role") if isinstance(app_metadata, dict) else None
    if role not in ROLES:
        role = "agent"  # Supabase users without an assigned role get the least privilege
    user_metadata = claims.get("user_metadata") or {}
    name = user_metadata.get("full_name") or user_metadata.get("name") if isinstance(
        user_metadata, dict) else None
    return Principal(profile_id, role, claims.get("email"), name), float(claims["exp"])


def mint_token(
    secret: str,
    *,
    sub: uuid.UUID,
    role: Role,
    ttl_seconds: int = 7 * 24 * 3600,
    email: str | None = None,
    name: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(sub),
        "role": "authenticated",
        "aud": "authenticated",
        "iat": now,
        "exp": now + ttl_seconds,
        "app_metadata": {"role": role},
    }
    if email:
        claims["email"] = email
    if name:
        claims["user_metadata"] = {"full_name": name}
    return jwt.encode(claims, secret, algorithm="HS256")
