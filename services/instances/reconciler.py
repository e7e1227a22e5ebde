"""Keep stored instance states Evolution's: ask Evolution for the real state of every number
that is not connected, on a schedule (backing off for numbers that stay disconnected), and
of every number after our own restart. Evolution's `connectionState` wins.

With WhatsApp out of its reach, Evolution posts `connection.update` `connecting` every few
seconds for ever while its `connectionState` says `close` (recorded from v2.3.6): a number
connecting for longer than INSTANCE_STUCK_SECONDS without a QR code is shown DISCONNECTED,
with the reason in `status_detail`, and held there until `connectInstance` is asked again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from db import instances as instances_db
from db.sql import Row
from services.errors import AppError
from services.instances.lifecycle import instance_event, token_of
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithLiveness,
    WithSettings,
    WithVault,
)
from services.platform.waiting import in_own_task, wait_any


class Uses(
    WithDatabase, WithBus, WithEvolution, WithSettings, WithVault, WithLiveness, Protocol
): ...


log = logging.getLogger("atendimento.reconciler")

MAX_DISCONNECTED_BACKOFF = timedelta(minutes=10)
MAX_ERROR_BACKOFF = timedelta(hours=1)
STUCK_DETAIL = (
    "No QR code from Evolution API after {seconds:.0f} s: it keeps reconnecting "
    "(can it reach WhatsApp?). Ask connectInstance again."
)
CLOSED_DETAIL = "Evolution API closed the connection before the QR code was scanned"


def reconciled_changes(
    row: Row | dict[str, Any], state: str, now: datetime, stuck_seconds: float
) -> dict[str, Any] | None:
    """Column changes that bring `row` in line with Evolution's `state`, or None."""
    status = row["status"]
    since = row["connecting_since"]
    stuck = since is None or (now - since).total_seconds() >= stuck_seconds
    cleared = {"qr_code": None, "qr_code_text": None, "pairing_code": None}
    if state == "open":
        if status == "connected":
            return None
        return {
            "status": "connected",
            "connected_at": now,
            "status_held": False,
            "connecting_since": None,
            "status_detail": None,
            **cleared,
        }
    if state == "connecting":
        if status == "connected" or (status == "disconnected" and not row["status_held"]):
            return {"status": "connecting", "connecting_since": now, "status_detail": None}
        if status == "connecting" and stuck and not row["status_detail"]:
            return {"status_detail": STUCK_DETAIL.format(seconds=stuck_seconds)}
        return None
    if state == "close":
        if status == "connected":
            return {
                "status": "disconnected",
                "disconnected_at": now,
                "connecting_since": None,
                "status_detail": "Evolution API reports the connection closed",
                **cleared,
            }
        if status in ("connecting", "qr_code") and stuck:
            # Evolution's reconnect loop alternates `close` and `connecting`: only once the
            # connection has had its time does `close` mean it will not come.
            detail = (
                STUCK_DETAIL.format(seconds=stuck_seconds)
                if status == "connecting"
                else CLOSED_DETAIL + ". Ask connectInstance again."
            )
            return {
                "status": "disconnected",
                "disconnected_at": now,
                "status_held": True,
                "connecting_since": None,
                "status_detail": detail,
                **cleared,
            }
    return None


class Reconciler:
    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime

    @property
    def interval(self) -> float:
        return self.runtime.settings.reconcile_interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await instances_db.schedule_reconcile_all(self.runtime.db)
        except Exception:
            log.exception("could not schedule the start-up reconciliation")
        while not stop.is_set():
            try:
                if self.runtime.liveness.leads:  # one process of all checks Evolution
                    await in_own_task(self.reconcile_due())
            except Exception:
                log.exception("reconciliation failed")
            await wait_any(stop, timeout=min(self.interval, 5.0))

    async def reconcile_due(self) -> int:
        """Check every due instance once; return how many changed."""
        if not self.runtime.settings.evolution_configured:
            return 0
        changed = 0
        for row in await instances_db.instances_to_reconcile(self.runtime.db, 50):
            changed += await self._check(row)
        return changed

    def _next_check(self, status: str, attempts: int) -> timedelta | None:
        if status == "connected":
            return None  # Evolution posts every change of an open connection
        if status in ("connecting", "qr_code"):
            return timedelta(seconds=self.interval)  # to notice a stuck one in time
        return min(timedelta(seconds=self.interval * 2**attempts), MAX_DISCONNECTED_BACKOFF)

    async def _check(self, row: Row) -> int:
        db = self.runtime.db
        try:
            state = await self.runtime.evolution.connection_state(
                row["instance_name"], token_of(self.runtime, row)
            )
        except AppError as error:
            attempts = row["reconcile_attempts"] + 1
            delay = min(timedelta(seconds=self.interval * 2**attempts), MAX_ERROR_BACKOFF)
            await instances_db.set_reconcile(db, row["id"], datetime.now(UTC) + delay, attempts)
            log.info(
                "state of %s unknown (%s); next check in %s",
                row["instance_name"],
                error.message,
                delay,
            )
            return 0
        now = datetime.now(UTC)
        changes = reconciled_changes(row, state, now, self.runtime.settings.instance_stuck_seconds)
        attempts = 0 if changes else row["reconcile_attempts"] + 1
        next_delay = self._next_check((changes or {}).get("status", row["status"]), attempts)
        await instances_db.set_reconcile(
            db, row["id"], None if next_delay is None else now + next_delay, attempts
        )
        if not changes:
            return 0
        await instances_db.update_instance(db, row["id"], **changes)
        await self.runtime.bus.publish([instance_event(row["id"], "STATUS")])
        log.info(
            "instance %s was %s, Evolution says %s", row["instance_name"], row["status"], state
        )
        return 1
