"""The webhook processor: applies stored events per instance, in arrival order.

Safe with several replicas and several tasks: an instance's events are processed under a
transaction-scoped advisory lock, so one worker at a time handles an instance while others
move on to the next one. A failing event never takes the others with it (see
`process_instance`): it keeps its error and attempt count, is retried with backoff, and after
MAX_ATTEMPTS waits in `failed` for a replay. Several instances are processed at once
(WEBHOOK_CONCURRENCY), each in a task and a connection of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from db import events as stream_db, instances as instances_db, webhook_events as events_db
from db.sql import Row, Savepoint
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithLiveness,
    WithMedia,
    WithMediaWakeup,
    WithOutboxWakeup,
    WithSettings,
    WithVault,
    WithWebhookWakeup,
)
from services.platform.events import Publication
from services.platform.metrics import WEBHOOK_PROCESSING, WEBHOOKS_PROCESSED
from services.platform.waiting import in_own_task, wait_any
from services.webhooks.failures import is_outage
from services.webhooks.ingest import Batch, Postpone, apply_event, apply_events


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithMedia,
    WithLiveness,
    WithWebhookWakeup,
    WithOutboxWakeup,
    WithMediaWakeup,
    Protocol,
): ...


log = logging.getLogger("atendimento.processor")

BATCH = 200
MAX_ATTEMPTS = 5
POLL_SECONDS = 1.0
DONE_RETENTION_HOURS = 72.0
STREAM_RETENTION_HOURS = 7 * 24.0
HOUSEKEEPING_SECONDS = 3600.0
POSTPONE = timedelta(seconds=1)


class _OneByOne(Exception):
    """An event of a batch applied as a whole failed or was postponed."""


def _data(row: Row) -> Any:
    payload = row["payload"]
    return payload.get("data") if isinstance(payload, dict) else None


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


class WebhookProcessor:
    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime
        self._next_housekeeping = 0.0

    @property
    def concurrency(self) -> int:
        """Instances processed at once: WEBHOOK_CONCURRENCY, leaving two pooled connections
        to the receiver and the rest, which would otherwise queue behind the processor."""
        settings = self.runtime.settings
        return max(1, min(settings.webhook_concurrency, settings.db_pool_max - 2))

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
                await wait_any(stop, wakeup, timeout=min(2**failures, 30))
                continue
            if not processed:
                await wait_any(stop, wakeup, timeout=POLL_SECONDS)

    async def drain(self) -> int:
        """Process everything that is due; return how many events were handled."""
        total = 0
        while True:
            instance_ids = await events_db.instances_with_pending(self.runtime.db)
            handled = await self._round(instance_ids)
            total += handled
            if not handled:
                return total

    async def _round(self, instance_ids: list[uuid.UUID]) -> int:
        """One batch of each instance, several instances at a time.

        Each batch waits on its own round trips, so instances side by side overlap them; each
        runs in a task of its own because `databases` gives every task its own connection
        (and transaction). An instance appears once per round, so its batches never overlap
        here, and the advisory lock keeps other replicas out.
        """
        slots = asyncio.Semaphore(self.concurrency)

        async def one(instance_id: uuid.UUID) -> int:
            async with slots:
                return await self.process_instance(instance_id)

        # gather runs each in a task of its own. Every batch is let finish before an error is
        # raised, so a failing instance neither stops the others midway nor leaves a batch
        # running behind the retry.
        results = await asyncio.gather(*(one(i) for i in instance_ids), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        return sum(r for r in results if isinstance(r, int))

    async def process_instance(self, instance_id: uuid.UUID) -> int:
        """Apply one batch of the instance's due events; return how many were handled.

        The batch is first applied as a whole, without a savepoint per event (savepoints are
        subtransactions, which make every later write of the batch dearer for PostgreSQL),
        new messages stored several at a time. If any event fails or is postponed, nothing
        of that attempt is kept (it is rolled back, nothing is published) and the batch runs
        again event by event, each in its own savepoint, so a failing event never takes the
        others with it.
        """
        try:
            return await self.apply_batch(instance_id, one_by_one=False)
        except _OneByOne:
            return await self.apply_batch(instance_id, one_by_one=True)

    async def apply_batch(self, instance_id: uuid.UUID, one_by_one: bool) -> int:
        """One attempt of `process_instance`: the batch as a whole, or event by event."""
        db = self.runtime.db
        published: list[Publication] = []
        outcomes: list[tuple[str, str, float | None]] = []
        handled = 0
        async with db.transaction():
            if not await events_db.try_lock_instance(db, instance_id):
                return 0
            instance = await instances_db.get_instance(db, instance_id)
            if instance is None:
                return 0
            batch = Batch(instance)
            now = datetime.now(UTC)
            due = []
            for row in await events_db.pending_for_instance(db, instance_id, BATCH):
                if row["next_attempt_at"] > now:
                    break  # a retry is due later; later events wait for it, keeping order
                due.append(row)
            if one_by_one:
                done = await self._one_by_one(batch, due, now, published, outcomes)
            else:
                done = await self._whole(batch, due, published, outcomes)
            handled = len(outcomes)
            if handled:
                await events_db.finish_batch(db, instance_id, done, now)
        for event, outcome, seconds in outcomes:  # counted once committed
            WEBHOOKS_PROCESSED.labels(event, outcome).inc()
            if seconds is not None:
                WEBHOOK_PROCESSING.labels(event).observe(seconds)
        await self.runtime.bus.publish(published)
        return handled

    async def _whole(
        self,
        batch: Batch,
        due: list[Row],
        published: list[Publication],
        outcomes: list[tuple[str, str, float | None]],
    ) -> list[int]:
        """Apply `due` in one go, or raise _OneByOne having applied nothing for good."""
        started = time.perf_counter()
        try:
            results = await apply_events(
                self.runtime, batch, [(row["event"], _data(row)) for row in due]
            )
        except Postpone:
            raise _OneByOne() from None
        except Exception as error:
            log.info(
                "a batch of %s failed (%s: %s); applying it event by event",
                batch.instance["instance_name"],
                type(error).__name__,
                error,
            )
            raise _OneByOne() from error
        # Applied together: each event is credited with its share of the time.
        seconds = (time.perf_counter() - started) / max(len(due), 1)
        for row, applied in zip(due, results, strict=True):
            published += applied
            outcomes.append((row["event"], "done", seconds))
        return [row["id"] for row in due]

    async def _one_by_one(
        self,
        batch: Batch,
        due: list[Row],
        now: datetime,
        published: list[Publication],
        outcomes: list[tuple[str, str, float | None]],
    ) -> list[int]:
        """Apply `due` event after event, each in a savepoint: a failing one is rolled back
        alone and retried later, and the events after it wait for it."""
        db = self.runtime.db
        savepoint = Savepoint(db, "webhook_event")
        done: list[int] = []
        for row in due:
            started = time.perf_counter()
            await savepoint.take()
            try:
                applied = await apply_event(self.runtime, batch, row["event"], _data(row))
            except Postpone:
                await savepoint.rollback()
                await events_db.postpone(db, row["id"], now + POSTPONE)
                break
            except Exception as error:
                await savepoint.rollback()
                attempts = row["attempts"] + 1
                # Only an outage may pass (`webhooks.failures`); anything else fails every try,
                # and a retry would hold back the instance's later events: set aside at once.
                bad_data = not is_outage(error)
                give_up = bad_data or attempts >= MAX_ATTEMPTS
                if bad_data:
                    log.warning(
                        "event %s (%s) set aside: its data cannot be applied (%s: %s)",
                        row["id"],
                        row["event"],
                        type(error).__name__,
                        error,
                    )
                else:
                    log.exception(
                        "event %s (%s) failed, attempt %s%s",
                        row["id"],
                        row["event"],
                        attempts,
                        "; giving up" if give_up else "",
                    )
                await events_db.mark_attempt_failed(
                    db,
                    row["id"],
                    f"{type(error).__name__}: {error}",
                    give_up,
                    now + retry_delay(attempts),
                )
                outcomes.append((row["event"], "failed" if give_up else "retry", None))
                if not give_up:
                    break
                continue
            published += applied
            done.append(row["id"])
            outcomes.append((row["event"], "done", time.perf_counter() - started))
        return done

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_housekeeping:
            return
        self._next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
        db = self.runtime.db
        done = await events_db.prune_done(db, DONE_RETENTION_HOURS)
        stream = await stream_db.prune_events(db, STREAM_RETENTION_HOURS)
        if done or stream:
            log.info("pruned %s processed webhook events and %s stream events", done, stream)
