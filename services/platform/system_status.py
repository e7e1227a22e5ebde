"""What an operator asks first: which numbers are down or quiet, what is stuck, how far behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from db import observability as observability_db, webhook_events as events_db
from db.sql import Row
from services.identity import access
from services.identity.auth import Principal
from services.platform.capabilities import WithBus, WithDatabase, WithReadiness, WithWebhookWakeup


class Uses(WithDatabase, WithBus, WithReadiness, WithWebhookWakeup, Protocol): ...


QUIET_SECONDS = 30 * 60


@dataclass
class SystemStatus:
    ready: bool
    instances_by_status: dict[str, int]
    stale_instances: list[Row]
    pending_webhook_events: int
    oldest_pending_webhook_seconds: float
    failed_webhook_events: int
    outbox_pending: int
    outbox_oldest_seconds: float
    live_subscribers: int


async def system_status(runtime: Uses, principal: Principal) -> SystemStatus:
    access.require_admin(principal, "see the system status")
    snapshot = await observability_db.snapshot(runtime.db)
    counts: dict[str, int] = {}
    for _, status in snapshot.instances:
        counts[status] = counts.get(status, 0) + 1
    oldest = snapshot.oldest_pending_webhook_at
    return SystemStatus(
        ready=runtime.ready,
        instances_by_status=counts,
        stale_instances=await observability_db.stale_instances(runtime.db, QUIET_SECONDS),
        pending_webhook_events=snapshot.webhook_events.get("pending", 0),
        oldest_pending_webhook_seconds=(datetime.now(UTC) - oldest).total_seconds()
        if oldest
        else 0.0,
        failed_webhook_events=snapshot.webhook_events.get("failed", 0),
        outbox_pending=snapshot.outbox_pending,
        outbox_oldest_seconds=snapshot.outbox_oldest_seconds,
        live_subscribers=runtime.bus.subscriber_count,
    )


async def failed_events(runtime: WithDatabase, principal: Principal, limit: int) -> list[Row]:
    access.require_admin(principal, "see failed webhook events")
    return await events_db.list_events(runtime.db, "failed", limit)


async def replay_events(runtime: Uses, principal: Principal, event_id: int | None) -> int:
    """Queue failed events again (one, or all with None); return how many."""
    access.require_admin(principal, "replay webhook events")
    count = await events_db.requeue(runtime.db, event_id)
    runtime.webhook_wakeup.set()
    return count
