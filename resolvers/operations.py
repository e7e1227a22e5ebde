from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_bigint
from schema.operations import (
    FailedWebhookEvent,
    StaleInstance,
    StatusCount,
    SystemStatus,
)
from services.errors import BadInput
from services.platform import system_status as service


@strawberry.type
class OperationsQueries:
    @strawberry.field(description="Numbers by status, stale numbers, backlogs (admins).")
    async def system_status(self, info: Info) -> SystemStatus:
        status = await service.system_status(info.context.runtime, info.context.viewer)
        return SystemStatus(
            ready=status.ready,
            instances_by_status=[
                StatusCount(status=k.upper(), count=v)
                for k, v in sorted(status.instances_by_status.items())
            ],
            stale_instances=[StaleInstance.from_row(r) for r in status.stale_instances],
            pending_webhook_events=status.pending_webhook_events,
            oldest_pending_webhook_seconds=status.oldest_pending_webhook_seconds,
            failed_webhook_events=status.failed_webhook_events,
            outbox_pending=status.outbox_pending,
            outbox_oldest_seconds=status.outbox_oldest_seconds,
            live_subscribers=status.live_subscribers,
        )

    @strawberry.field(description="Webhook events that failed, newest first (admins).")
    async def failed_webhook_events(self, info: Info, first: int = 50) -> list[FailedWebhookEvent]:
        if not 1 <= first <= 200:
            raise BadInput("first must be between 1 and 200", field="first")
        rows = await service.failed_events(info.context.runtime, info.context.viewer, first)
        return [FailedWebhookEvent.from_row(r) for r in rows]


@strawberry.type
class OperationsMutations:
    @strawberry.mutation(
        description="Queue failed webhook events again: one by id, or all "
        "(admins). Returns how many."
    )
    async def replay_webhook_events(self, info: Info, id: strawberry.ID | None = None) -> int:
        event_id = None
        if id is not None:
            event_id = parse_bigint(str(id), "id", "id is not a webhook event id")
        return await service.replay_events(info.context.runtime, info.context.viewer, event_id)
