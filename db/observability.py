"""What operators look at: backlogs and states, in a few cheap queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from databases import Database

from db.sql import Row, fetch_all, fetch_one


@dataclass
class Snapshot:
    outbox_pending: int = 0
    outbox_oldest_seconds: float = 0.0
    webhook_events: dict[str, int] = field(default_factory=dict)
    oldest_pending_webhook_at: datetime | None = None
    instances: list[tuple[str, str]] = field(default_factory=list)


async def snapshot(db: Database) -> Snapshot:
    outbox = await fetch_one(
        db,
        """
        SELECT count(*) AS pending,
               COALESCE(EXTRACT(EPOCH FROM NOW() - min(created_at)), 0) AS oldest
        FROM whatsapp_messages WHERE status = 'pending' AND from_me
        """,
    )
    assert outbox is not None
    events = await fetch_all(
        db,
        "SELECT status, count(*) AS n, min(received_at) AS oldest FROM webhook_events "
        "WHERE status IN ('pending', 'failed') GROUP BY status",
    )
    instances = await fetch_all(
        db, "SELECT instance_name, status FROM whatsapp_instances ORDER BY instance_name"
    )
    return Snapshot(
        outbox_pending=int(outbox["pending"]),
        outbox_oldest_seconds=float(outbox["oldest"]),
        webhook_events={r["status"]: int(r["n"]) for r in events},
        oldest_pending_webhook_at=next(
            (r["oldest"] for r in events if r["status"] == "pending"), None
        ),
        instances=[(r["instance_name"], r["status"]) for r in instances],
    )


async def stale_instances(db: Database, quiet_seconds: float) -> list[Row]:
    """Connected numbers Evolution has said nothing about for a while, and stuck ones."""
    return await fetch_all(
        db,
        """
        SELECT id, instance_name, display_name, status, last_seen_at FROM whatsapp_instances
        WHERE (status = 'connected'
               AND COALESCE(last_seen_at, updated_at) < NOW() - make_interval(secs => :quiet))
           OR (status IN ('connecting', 'qr_code')
               AND updated_at < NOW() - make_interval(secs => :quiet))
        ORDER BY instance_name
        """,
        quiet=quiet_seconds,
    )
