"""Retention: DATA_RETENTION_DAYS deletes older messages (with their media objects, the
auto-reply log and stored webhook bodies of that age), MEDIA_RETENTION_DAYS deletes older media
objects (the messages stay, their media UNAVAILABLE). Unset, everything is kept for ever.

The job runs once a day whatever the number of replicas: the process that moves the job row's
`next_run_at` forward runs it. Messages, media, auto-reply log rows and webhook bodies alike
are deleted in batches of BATCH rows, each its own short transaction that skips rows others
hold, so nothing waits long on it and no single statement holds a day's worth of locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from db import privacy as privacy_db
from services.media import cleanup
from services.platform.capabilities import WithDatabase, WithMedia, WithSettings
from services.platform.metrics import RETENTION_DELETED, RETENTION_LAST_RUN
from services.platform.waiting import in_own_task, wait_any


class Uses(WithDatabase, WithSettings, WithMedia, Protocol): ...


log = logging.getLogger("atendimento.privacy")

JOB = "retention"
EVERY_SECONDS = 24 * 3600.0
CHECK_SECONDS = 300.0
BATCH = 1000


async def run_due(runtime: Uses) -> dict[str, int] | None:
    """Run the job when it is due and this process won it; its counts, or None."""
    settings = runtime.settings
    if settings.data_retention_days is None and settings.media_retention_days is None:
        return None
    if not await privacy_db.claim_job(runtime.db, JOB, EVERY_SECONDS):
        return None
    return await run(runtime)


async def _in_batches(delete: Callable[[int], Awaitable[int]], batch: int) -> int:
    """Call `delete(batch)` (one statement, its own transaction) until a batch comes short."""
    total = 0
    while True:
        deleted = await delete(batch)
        total += deleted
        if deleted < batch:
            return total


async def run(runtime: Uses, now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    db, settings = runtime.db, runtime.settings
    now = now or datetime.now(UTC)
    counts = {"messages": 0, "media": 0, "auto_replies": 0, "webhook_events": 0}
    if settings.data_retention_days is not None:
        cutoff = now - timedelta(days=settings.data_retention_days)
        while True:
            async with db.transaction():
                rows = await privacy_db.delete_messages_before(db, cutoff, batch)
                keys = cleanup.object_keys(rows)
                await privacy_db.queue_deletions(db, keys)
            await cleanup.purge(runtime, keys)
            counts["messages"] += len(rows)
            counts["media"] += sum(1 for r in rows if r["media_key"] or r["upload_key"])
            if len(rows) < batch:
                break
        counts["auto_replies"] = await _in_batches(
            lambda n: privacy_db.delete_auto_replies_before(db, cutoff, n), batch
        )
        counts["webhook_events"] = await _in_batches(
            lambda n: privacy_db.delete_raw_webhooks_before(db, cutoff, n), batch
        )
    if settings.media_retention_days is not None:
        cutoff = now - timedelta(days=settings.media_retention_days)
        while True:
            async with db.transaction():
                rows = await privacy_db.drop_media_before(db, cutoff, batch)
                keys = cleanup.object_keys(rows)
                await privacy_db.queue_deletions(db, keys)
            await cleanup.purge(runtime, keys)
            counts["media"] += len(rows)
            if len(rows) < batch:
                break
    await privacy_db.finish_job(db, JOB, counts)
    await privacy_db.log_action(
        db,
        "retention",
        actor_id=None,
        instance_id=None,
        subject_id=None,
        reason=f"DATA_RETENTION_DAYS={settings.data_retention_days or 'unset'}, "
        f"MEDIA_RETENTION_DAYS={settings.media_retention_days or 'unset'}",
        counts=counts,
    )
    for kind, count in counts.items():
        RETENTION_DELETED.labels(kind).inc(count)
    RETENTION_LAST_RUN.set(now.timestamp())
    log.info(
        "retention: deleted %s messages, %s media files, %s auto-reply log rows, "
        "%s stored webhook events",
        counts["messages"],
        counts["media"],
        counts["auto_replies"],
        counts["webhook_events"],
    )
    return counts


class RetentionJob:
    """Checks every CHECK_SECONDS whether the daily run is due (in every process; one runs it)."""

    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await in_own_task(run_due(self.runtime))
            except Exception:
                log.exception("the retention job failed; it is tried again at the next check")
            await wait_any(stop, timeout=CHECK_SECONDS)
