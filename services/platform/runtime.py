"""The process-wide resources every request and worker shares, built once by server.py."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from databases import Database

from services.identity.auth import TokenVerifier, issuer_of, jwks_url_of
from services.identity.jwks import KeySet
from services.identity.profiles import ProfileRegistry
from services.instances.evolution import EvolutionClient
from services.media.store import MediaStore
from services.platform.crypto import Vault
from services.platform.events import EventBus
from services.platform.liveness import Liveness
from services.platform.rate_limit import Debounce, RateLimiter
from services.platform.settings import Settings
from services.platform.shared_loads import SharedLoads


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: EventBus
    evolution: EvolutionClient
    vault: Vault
    media: MediaStore
    jwt_secret: str
    profiles: ProfileRegistry = field(default_factory=ProfileRegistry)
    ready: bool = False
    # Set when work arrives so the local workers start at once instead of at their next poll.
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    media_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    send_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1.0, 1.0))
    webhook_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1.0, 1.0))
    webhook_source_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1.0, 1.0))
    # Typing indicators: one Evolution call per contact and presence every 3 s at most.
    presence_debounce: Debounce = field(default_factory=lambda: Debounce(3.0))
    # Presence subscriptions of open chats: one Evolution call per contact every 10 minutes.
    presence_watch: Debounce = field(default_factory=lambda: Debounce(600.0))
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # Live-event payloads, loaded once per process for all subscribers.
    live_loads: SharedLoads = field(default_factory=SharedLoads)
    tokens: TokenVerifier = field(init=False)
    # This process's worker lock: claims made by its workers name it (see platform/liveness).
    liveness: Liveness = field(default_factory=lambda: Liveness(None))

    def __post_init__(self) -> None:
        jwks_url = self.settings.supabase_jwks_url or jwks_url_of(self.settings.supabase_url)
        self.tokens = TokenVerifier(
            self.jwt_secret,
            issuer=issuer_of(self.settings.supabase_url),
            keys=KeySet(jwks_url) if jwks_url else None,
        )

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run fire-and-forget work, keeping a reference so it is not garbage collected."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
