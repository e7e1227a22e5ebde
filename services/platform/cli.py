"""Operator commands of `python server.py`, run against the configured database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from broadcaster import Broadcast

from db import instances as instances_db, webhook_events as events_db
from db.migrate import apply_migrations
from db.sql import create_database
from services.instances.evolution import EvolutionClient
from services.instances.reconciler import Reconciler
from services.media.store import LocalMediaStore
from services.platform import bootstrap
from services.platform.events import EventBus
from services.platform.runtime import Runtime
from services.platform.settings import Settings


def _resolved(settings: Settings) -> Settings:
    """Settings with a migrated database (starting the embedded PostgreSQL if that is the one)."""
    url = bootstrap.resolve_database_url(settings)
    asyncio.run(apply_migrations(url))
    return settings.with_overrides(database_url=url)


@asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[Runtime]:
    assert settings.database_url
    db = create_database(settings.database_url, min_size=1, max_size=2)
    # Events published by a command reach nobody here; running servers see the database.
    runtime = Runtime(
        settings=settings,
        db=db,
        bus=EventBus(Broadcast("memory://")),
        evolution=EvolutionClient(
            settings.evolution_api_base_url,
            settings.evolution_api_key,
            timeout=settings.evolution_timeout_seconds,
            retry_seconds=settings.evolution_retry_seconds,
        ),
        vault=bootstrap.vault(settings),
        media=LocalMediaStore(settings.data_dir / "media"),
        jwt_secret=bootstrap.jwt_secret(settings),
    )
    async with db:
        try:
            yield runtime
        finally:
            await runtime.evolution.aclose()


def events_list(settings: Settings, failed_only: bool, limit: int) -> int:
    settings = _resolved(settings)

    async def run() -> None:
        async with _runtime(settings) as runtime:
            rows = await events_db.list_events(runtime.db, "failed" if failed_only else None, limit)
        for r in rows:
            error = (r["last_error"] or "").splitlines()[0][:120] if r["last_error"] else ""
            print(
                f"{r['id']:>8}  {r['status']:<7}  {r['attempts']}  {r['instance_name']:<24}  "
                f"{r['event']:<18}  {r['received_at']:%Y-%m-%d %H:%M:%S}  {error}"
            )

    asyncio.run(run())
    return 0


def events_replay(settings: Settings, event_id: int | None) -> int:
    settings = _resolved(settings)

    async def run() -> int:
        async with _runtime(settings) as runtime:
            return await events_db.requeue(runtime.db, event_id)

    count = asyncio.run(run())
    print(f"queued {count} failed event(s) again; a running server applies them within a second")
    return 0 if count or event_id is None else 1


def instances_reconcile(settings: Settings) -> int:
    settings = _resolved(settings)

    async def run() -> int:
        async with _runtime(settings) as runtime:
            await instances_db.schedule_reconcile_all(runtime.db)
            return await Reconciler(runtime).reconcile_due()

    changed = asyncio.run(run())
    print(f"{changed} instance(s) corrected from Evolution API")
    return 0
