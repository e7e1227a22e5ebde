"""The webhook processor: applies stored events per instance, in arrival order.

Safe with several replicas and several tasks: an instance's events are processed under a
transaction-scoped advisory lock, so one worker at a time handles an instance while others
move on to the next one. Each event runs in a savepoint; a failing event keeps its error and
attempt count, is retried with backoff, and after MAX_ATTEMPTS waits in `failed` for a replay.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from db import events as stream_db, instances as instances_db, webhook_events as events_db
from services.events import Publication
from services.ingest import LIFECYCLE_EVENTS, Postpone, apply_event
from services.metrics import WEBHOOK_PROCESSING, WEBHOOKS_PROCESSED
from services.runtime import Runtime
from services.waiting import in_own_task, wait_any

log = logging.getLogger("atendimento.processor")

BATCH = 200
MAX_ATTEMPTS = 5
POLL_SECONDS = 1.0
DONE_RETENTION_HOURS = 72.0
STREAM_RETENTION_HOURS = 7 * 24.0
HOUSEKEEPING_SECONDS = 3600.0
POSTPONE = timedelta(seconds=1)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


class WebhookProcessor:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._next_housekeeping = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = self.runtime.webhook_wakeup
        failures = 0
        while not stop.is_set():
            wakeup.clear()
            try:
                processed = await in_own_task(self.drain())
                await in_own_task(self._housekeeping())
                failures = 0
            except Exception:
                failures += 1
                log.exception("webhook processing failed; retrying")
                processed = 0
                # A new webhook means the database may be back: try again then, too.
                await wait_any(stop, wakeup, timeout=min(2 ** failures, 30))
                continue
            if not processed:
                await wait_any(stop, wakeup, timeout=POLL_SECONDS)

    async def drain(self) -> int:
        """Process everything that is due; return how many events were handled."""
        total = 0
        while True:
            instance_ids = await events_db.instances_with_pending(self.runtime.db)
            handled = 0
            for instance_id in instance_ids:
                handled += await self.process_instance(instance_id)
            total += handled
            if not handled:
                return total

    async def process_instance(self, instance_id: uuid.UUID) -> int:
        db = self.runtime.db
        published: list[Publication] = []
        handled = 0
        async with db.transaction():
            if not await events_db.try_lock_instance(db, instance_id):
                return 0
            instance = await instances_db.get_instance(db, instance_id)
            if instance is None:
                return 0
            done: list[int] = []
            now = datetime.now(UTC)
            for row in await events_db.pending_for_instance(db, instance_id, BATCH):
                if row["next_attempt_at"] > now:
                    break  # a retry is due later; later events wait for it, keeping order
                payload = row["payload"] if isinstance(row["payload"], dict) else {}
                started = time.perf_counter()
                try:
                    async with db.transaction():
                        published += await apply_event(self.runtime, instance, row["event"],
                                                       payload.get("data"))
                except Postpone:
                    await events_db.postpone(db, row["id"], now + POSTPONE)
                    break
                except Exception as error:
                    attempts = row["attempts"] + 1
                    give_up = attempts >= MAX_ATTEMPTS
                    log.exception("event %s (%s) failed, attempt %s%s", row["id"], row["event"],
                                  attempts, "; giving up" if give_up else "")
                    await events_db.mark_attempt_failed(
                        db, row["id"], f"{type(error).__name__}: {error}", give_up,
                        now + retry_delay(attempts))
                    WEBHOOKS_PROCESSED.labels(row["event"], "failed" if give_up
                                              else "retry").inc()
                    handled += 1
                    if not give_up:
                        break
                    continue
                done.append(row["id"])
                handled += 1
                WEBHOOKS_PROCESSED.labels(row["event"], "done").inc()
                WEBHOOK_PROCESSING.labels(row["event"]).observe(time.perf_counter() - started)
                if row["event"] in LIFECYCLE_EVENTS:
                    instance = await instances_db.get_instance(db, instance_id) or instance
            await events_db.mark_done(db, done)
            if handled:
                await instances_db.touch_last_seen(db, instance_id, now)
        await self.runtime.bus.publish(published)
        return handled

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_housekeeping:
            return
        self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
        db = self.runtime.db
        done = await events_db.prune_done(db, DONE_RETENTION_HOURS)
        stream = await stream_db.prune_events(db, STREAM_RETENTION_HOURS)
        if done or stream:
            log.info("pruned %s processed webhook events and %s stream events", done, stream)
