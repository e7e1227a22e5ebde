"""WEB_CONCURRENCY: several server processes on one machine, prepared once by `serve`.

uvicorn starts the processes and restarts one that dies; they share the port. What must happen
once happens here, in the parent, before they start: the embedded PostgreSQL is started (it
lives as long as the parent), the migrations are applied and the generated secrets are made, so
that the processes never race for them. They find it all in their environment. Live events must
cross processes, so the in-memory broadcast becomes the database's LISTEN/NOTIFY (a Redis
BROADCAST_URL is kept). Queued work (webhooks, sends, media) is claimed through PostgreSQL as
between replicas; the periodic jobs run in one process (see platform/liveness).
"""

from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import urlsplit

from db.migrate import apply_migrations
from services.platform import bootstrap
from services.platform.settings import Settings

log = logging.getLogger("atendimento.processes")


def prepare(settings: Settings) -> Settings:
    """Does the once-only work for a resolved DATABASE_URL; answers the processes' settings."""
    assert settings.database_url, "resolve the database URL first"
    asyncio.run(apply_migrations(settings.database_url))
    bootstrap.vault(settings)
    broadcast = settings.broadcast_url
    if urlsplit(broadcast).scheme == "memory":
        broadcast = settings.database_url
        log.info(
            "%d processes: live events cross them through PostgreSQL (set BROADCAST_URL "
            "to a Redis URL to use Redis)",
            settings.web_concurrency,
        )
    os.environ.update(DATABASE_URL=settings.database_url, BROADCAST_URL=broadcast)
    return settings.with_overrides(broadcast_url=broadcast)
