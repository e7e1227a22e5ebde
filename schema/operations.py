from __future__ import annotations

from datetime import datetime

import strawberry

from services.common.rows import Row


@strawberry.type
class StatusCount:
    status: str
    count: int


@strawberry.type(
    description="A connected number Evolution has been quiet about, or one stuck connecting."
)
class StaleInstance:
    id: strawberry.ID
    instance_name: str
    display_name: str
    status: str
    last_seen_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> StaleInstance:
        return cls(
            id=strawberry.ID(str(row["id"])),
            instance_name=row["instance_name"],
            display_name=row["display_name"],
            status=row["status"].upper(),
            last_seen_at=row["last_seen_at"],
        )


@strawberry.type(description="A webhook event that could not be applied.")
class FailedWebhookEvent:
    id: strawberry.ID
    instance_name: str
    event: str
    attempts: int
    last_error: str | None
    received_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> FailedWebhookEvent:
        return cls(
            id=strawberry.ID(str(row["id"])),
            instance_name=row["instance_name"],
            event=row["event"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            received_at=row["received_at"],
        )


@strawberry.type(description="Health of the whole system, for administrators.")
class SystemStatus:
    ready: bool
    instances_by_status: list[StatusCount]
    stale_instances: list[StaleInstance]
    pending_webhook_events: int
    oldest_pending_webhook_seconds: float
    failed_webhook_events: int
    outbox_pending: int
    outbox_oldest_seconds: float
    live_subscribers: int = strawberry.field(description="On the process that answered.")
