"""The process-wide resources every request and worker shares, built once by server.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from databases import Database

from services.crypto import Vault
from services.events import EventBus
from services.evolution import EvolutionClient
from services.profiles import ProfileRegistry
from services.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: EventBus
    evolution: EvolutionClient
    vault: Vault
    jwt_secret: str
    profiles: ProfileRegistry = field(default_factory=ProfileRegistry)
    ready: bool = False
    # Set when work arrives so the local workers start at once instead of at their next poll.
    webhook_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
