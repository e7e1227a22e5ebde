"""Keep stored instance states honest: ask Evolution for the real state of instances whose
status may be stale (after our own restart, or stuck mid-connection), with backoff."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from db import instances as instances_db
from db.sql import Row
from services.errors import AppError
from services.instances import STATUS_OF_STATE, instance_event, token_of
from services.runtime import Runtime
from services.waiting import in_own_task, wait_any

log = logging.getLogger("atendimento.reconciler")

INTERVAL_SECONDS = 30.0
STALE_SECONDS = 120.0
MAX_BACKOFF = timedelta(hours=1)


class Reconciler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await instances_db.schedule_reconcile_all(self.runtime.db)
        except Exception:
            log.exception("could not schedule the start-up reconciliation")
        while not stop.is_set():
            try:
                await in_own_task(self.reconcile_due())
            except Exception:
                log.exception("reconciliation failed")
            await wait_any(stop, timeout=INTERVAL_SECONDS)

    async def reconcile_due(self) -> int:
        """Check every due instance once; return how many changed status."""
        if not self.runtime.settings.evolution_configured:
            return 0
        changed = 0
        for row in await instances_db.instances_to_reconcile(self.runtime.db, STALE_SECONDS, 50):
            changed += await self._check(row)
        return changed

    async def _check(self, row: Row) -> int:
        db = self.runtime.db
        try:
            state = await self.runtime.evolution.connection_state(row["instance_name"],
                                                                  token_of(self.runtime, row))
        except AppError as error:
            attempts = row["reconcile_attempts"] + 1
            delay = min(timedelta(seconds=INTERVAL_SECONDS * 2 ** attempts), MAX_BACKOFF)
            await instances_db.set_reconcile(db, row["id"], datetime.now(UTC) + delay, attempts)
            log.info("state of %s unknown (%s); next check in %s", row["instance_name"],
                     error.message, delay)
            return 0
        await instances_db.set_reconcile(db, row["id"], None, 0)
        status = STATUS_OF_STATE.get(state)
        # "connecting" keeps a QR_CODE status: the QR shown is still the one to scan.
        if status is None or status == row["status"] or (status == "connecting"
                                                          and row["status"] == "qr_code"):
            return 0
        changes: dict[str, object] = {"status": status}
        if status == "disconnected":
            changes.update(qr_code=None, qr_code_text=None, pairing_code=None,
                           disconnected_at=datetime.now(UTC))
        await instances_db.update_instance(db, row["id"], **changes)
        await self.runtime.bus.publish([instance_event(row["id"], "STATUS")])
        log.info("instance %s was %s, Evolution says %s", row["instance_name"], row["status"],
                 state)
        return 1
