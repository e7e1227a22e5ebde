"""What a service may be given: one small protocol per shared resource of the process.

A service function names the capability it uses (`WithDatabase` for one that only queries), or
its module's `Uses`, the protocols its functions need together. `Runtime` is the composition
root: it has every one of these attributes, so it satisfies them all without inheriting any,
and `mypy --strict` proves that a service touches only what its signature declares.

Members are read-only properties: a service reads a resource, the composition root sets it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from databases import Database

from services.instances.evolution import EvolutionClient
from services.media.store import MediaStore
from services.platform.crypto import Vault
from services.platform.events import EventBus
from services.platform.liveness import Liveness
from services.platform.rate_limit import Debounce, RateLimiter
from services.platform.settings import Settings


class WithDatabase(Protocol):
    @property
    def db(self) -> Database: ...


class WithBus(Protocol):
    """Publishes live events (after commit) to every replica's subscribers."""

    @property
    def bus(self) -> EventBus: ...


class WithEvolution(Protocol):
    @property
    def evolution(self) -> EvolutionClient: ...


class WithSettings(Protocol):
    @property
    def settings(self) -> Settings: ...


class WithVault(Protocol):
    """Encrypts and decrypts instance tokens, derives webhook secrets."""

    @property
    def vault(self) -> Vault: ...


class WithMedia(Protocol):
    @property
    def media(self) -> MediaStore: ...


class WithLiveness(Protocol):
    """This process's worker lock: the id its claims carry, whether it leads periodic jobs."""

    @property
    def liveness(self) -> Liveness: ...


class WithSpawn(Protocol):
    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run fire-and-forget work, kept alive until it ends."""


class WithReadiness(Protocol):
    @property
    def ready(self) -> bool: ...


# Wake-ups: set when work arrives so the local worker starts at once instead of at its next poll.


class WithWebhookWakeup(Protocol):
    @property
    def webhook_wakeup(self) -> asyncio.Event: ...


class WithOutboxWakeup(Protocol):
    @property
    def outbox_wakeup(self) -> asyncio.Event: ...


class WithMediaWakeup(Protocol):
    @property
    def media_wakeup(self) -> asyncio.Event: ...


# Limiters: per-process token buckets and debounces (see platform/rate_limit).


class WithSendLimiter(Protocol):
    @property
    def send_limiter(self) -> RateLimiter: ...


class WithWebhookLimiter(Protocol):
    @property
    def webhook_limiter(self) -> RateLimiter: ...


class WithPresenceDebounce(Protocol):
    @property
    def presence_debounce(self) -> Debounce: ...


class WithPresenceWatch(Protocol):
    @property
    def presence_watch(self) -> Debounce: ...
