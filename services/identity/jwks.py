"""The signing keys Supabase Auth publishes (JWKS), fetched with httpx and cached.

Keys are kept for `ttl` seconds and refreshed in the background after that; a token whose `kid`
is unknown triggers a refetch, at most one every `refetch_interval` seconds, so random `kid`s
cannot make us hammer Supabase. While the endpoint is unreachable the cached keys keep serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

log = logging.getLogger("atendimento.auth")

# A JWKS holds a handful of keys; anything much larger is not one.
MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
FETCH_TIMEOUT_SECONDS = 5.0

# Read through this name so tests can move time forward without waiting.
monotonic: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # the one algorithm this key verifies: ES256 or RS256
    key: Any  # a cryptography public key


def allowed_algorithm(jwk: dict[str, Any]) -> str | None:
    """The algorithm a published key may verify, or None when we do not accept the key.

    Only public signing keys of the kinds Supabase issues: EC P-256 (ES256) and RSA (RS256).
    A symmetric (`oct`) key in a public set, or a key whose `alg` disagrees with its type,
    would let a token choose how it is checked, so such keys are ignored."""
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if kty == "EC" and crv == "P-256":
        expected = "ES256"
    elif kty == "RSA":
        expected = "RS256"
    else:
        return None
    if alg not in (None, expected) or jwk.get("use") not in (None, "sig") or "d" in jwk:
        return None
    return expected


def parse_key_set(document: object) -> dict[str, SigningKey]:
    """The usable keys of a JWKS document, by `kid`; unusable entries are skipped.
    Raises ValueError when the document is not a key set at all."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    keys: dict[str, SigningKey] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        algorithm = allowed_algorithm(entry)
        if algorithm is None:
            continue
        try:
            public = jwt.PyJWK(entry, algorithm).key
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        if algorithm == "RS256" and public.key_size < MIN_RSA_BITS:
            continue
        keys[entry["kid"]] = SigningKey(entry["kid"], algorithm, public)
    return keys


class KeySet:
    """Supabase's published signing keys, fetched on demand and cached."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 600.0,
        refetch_interval: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._generation = 0  # fetches ended so far
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    def has(self, kid: str) -> bool:
        """Whether `kid` is among the keys last published (refreshed in the background when
        the cache is stale, so a revoked key stops working)."""
        self._refresh_if_stale()
        return kid in self._keys

    async def key(self, kid: str) -> SigningKey | None:
        """The published key `kid`, fetching the set when it is unknown (rate limited)."""
        known = self._keys.get(kid)
        if known is not None:
            self._refresh_if_stale()
            return known
        await self._fetch_once(self._generation)
        return self._keys.get(kid)

    def warm_up(self) -> None:
        """Start fetching the keys before the first token arrives (failures are only logged)."""
        self._refresh_if_stale()

    async def aclose(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
        if self._http is not None:
            await self._http.aclose()

    def _refresh_if_stale(self) -> None:
        # Served from the cache meanwhile; at most one refresh at a time, and none more often
        # than refetch_interval while the endpoint is failing.
        if self._stale() and self._may_fetch() and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._fetch_once(self._generation))

    def _stale(self) -> bool:
        return self._fetched_at is None or monotonic() - self._fetched_at > self.ttl

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None or monotonic() - self._attempted_at >= self.refetch_interval
        )

    async def _fetch_once(self, generation: int) -> None:
        async with self._lock:
            # A fetch that ended while this caller waited answers for it too.
            if self._generation != generation or not self._may_fetch():
                return
            self._attempted_at = monotonic()
            try:
                keys = await self._download()
            except Exception as error:  # any failure keeps the cached keys serving
                log.warning(
                    "signing keys unavailable from %s (%s): using %d cached key(s)",
                    self.url,
                    type(error).__name__,
                    len(self._keys),
                )
                return
            finally:
                self._generation += 1
            self._keys = keys
            self._fetched_at = monotonic()

    async def _download(self) -> dict[str, SigningKey]:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=FETCH_TIMEOUT_SECONDS,
                transport=self._transport,
                headers={"accept": "application/json"},
                follow_redirects=False,
            )
        async with self._http.stream("GET", self.url) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("key set too large")
        # An empty set is a valid answer: a project still on the legacy secret publishes none.
        return parse_key_set(json.loads(body))
