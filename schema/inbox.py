from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from resolvers.context import Info
from schema.profile import Profile


@strawberry.type(description="A label of a number and how many of its contacts carry it.")
class LabelCount:
    label: str
    count: int


@strawberry.type(description="Median and 90th percentile, in seconds (null: no data).")
class DurationPercentiles:
    p50: float | None
    p90: float | None


@strawberry.type(description="One agent's figures of a report.")
class AgentReport:
    conversations: int = strawberry.field(
        description="Conversations opened in the period that this agent answered first."
    )
    resolved: int = strawberry.field(
        description="Resolutions in the period while assigned to this agent (or by them, "
        "when unassigned)."
    )
    messages_sent: int = strawberry.field(description="Messages they sent in the period.")
    first_response_seconds: DurationPercentiles
    resolution_seconds: DurationPercentiles
    profile_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The agent (null when the profile was deleted).")
    async def profile(self, info: Info) -> Profile | None:
        row = await info.context.loaders.profile.load(self.profile_id)
        return Profile.from_row(row) if row else None


@strawberry.type(
    description="Conversation figures of a period. A conversation opens with the customer's "
    "first message or a reopening; first response: from its first incoming message to the "
    "first reply of a person (auto-replies and notes do not count); resolution: from its "
    "opening to RESOLVED."
)
class Report:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    conversations: int = strawberry.field(description="Conversations opened in the period.")
    resolved: int = strawberry.field(description="Resolutions in the period.")
    messages_received: int
    messages_sent: int = strawberry.field(
        description="Our messages of the period, auto-replies included, notes excluded."
    )
    first_response_seconds: DurationPercentiles = strawberry.field(
        description="Of the conversations opened in the period that got a reply."
    )
    resolution_seconds: DurationPercentiles = strawberry.field(
        description="Of the resolutions in the period."
    )
    by_agent: list[AgentReport]
