"""The team inbox's GraphQL fields: assignment, status, notes, labels, profiles, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_id
from schema.conversation import Contact, ConversationStatus, Message
from schema.inbox import AgentReport, DurationPercentiles, LabelCount, Report
from schema.profile import Profile
from services.inbox import labels as label_service, notes, ownership, reports
from services.inbox.reports import Figures, Percentiles


@strawberry.type
class InboxQueries:
    @strawberry.field(
        description="Who can be assigned: the members of instanceId; without it, the "
        "members of every number you see (admins: every profile)."
    )
    async def profiles(self, info: Info, instance_id: strawberry.ID | None = None) -> list[Profile]:
        rows = await ownership.assignable_profiles(
            info.context.runtime,
            info.context.viewer,
            parse_id(instance_id, "instanceId") if instance_id is not None else None,
        )
        return [Profile.from_row(r) for r in rows]

    @strawberry.field(
        description="The number's labels with how many contacts carry each, most used "
        "first (for an autocomplete: `prefix` narrows them)."
    )
    async def labels(
        self, info: Info, instance_id: strawberry.ID, prefix: str | None = None
    ) -> list[LabelCount]:
        rows = await label_service.list_labels(
            info.context.runtime, info.context.viewer, parse_id(instance_id, "instanceId"), prefix
        )
        return [LabelCount(label=r["label"], count=r["count"]) for r in rows]

    @strawberry.field(
        description="Conversation figures of a period, overall and per agent: admins of "
        "every number (or instanceId), agents of their numbers. The same per conversation: "
        "GET /reports/conversations.csv."
    )
    async def report(
        self,
        info: Info,
        *,
        instance_id: strawberry.ID | None = None,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> Report:
        found = await reports.conversation_report(
            info.context.runtime,
            info.context.viewer,
            parse_id(instance_id, "instanceId") if instance_id is not None else None,
            from_,
            to,
        )
        overall = found.overall
        return Report(
            from_=from_,
            to=to,
            conversations=overall.conversations,
            resolved=overall.resolved,
            messages_received=overall.messages_received,
            messages_sent=overall.messages_sent,
            first_response_seconds=_percentiles(overall.first_response),
            resolution_seconds=_percentiles(overall.resolution),
            by_agent=[_agent(profile_id, f) for profile_id, f in sorted(found.by_agent.items())],
        )


def _percentiles(value: Percentiles) -> DurationPercentiles:
    return DurationPercentiles(p50=value.p50, p90=value.p90)


def _agent(profile_id: object, figures: Figures) -> AgentReport:
    return AgentReport(
        profile_id=profile_id,  # type: ignore[arg-type]
        conversations=figures.conversations,
        resolved=figures.resolved,
        messages_sent=figures.messages_sent,
        first_response_seconds=_percentiles(figures.first_response),
        resolution_seconds=_percentiles(figures.resolution),
    )


@strawberry.type
class InboxMutations:
    @strawberry.mutation(
        description="Assign the conversation to a member of its number (profileId null "
        "unassigns). Agents take unassigned conversations and release their own; admins "
        "assign anyone."
    )
    async def assign_contact(
        self, info: Info, contact_id: strawberry.ID, profile_id: strawberry.ID | None = None
    ) -> Contact:
        row = await ownership.assign_contact(
            info.context.runtime,
            info.context.viewer,
            parse_id(contact_id, "contactId"),
            parse_id(profile_id, "profileId") if profile_id is not None else None,
        )
        return Contact.from_row(row)

    @strawberry.mutation(
        description="Move the conversation to OPEN, PENDING or RESOLVED (agents: "
        "unassigned conversations and their own)."
    )
    async def set_contact_status(
        self, info: Info, contact_id: strawberry.ID, status: ConversationStatus
    ) -> Contact:
        row = await ownership.set_contact_status(
            info.context.runtime,
            info.context.viewer,
            parse_id(contact_id, "contactId"),
            status.value,
        )
        return Contact.from_row(row)

    @strawberry.mutation(
        description="Replace the conversation's labels (trimmed; case ignored when comparing; "
        "at most 20 of at most 40 characters)."
    )
    async def set_contact_labels(
        self, info: Info, contact_id: strawberry.ID, labels: list[str]
    ) -> Contact:
        row = await label_service.set_contact_labels(
            info.context.runtime, info.context.viewer, parse_id(contact_id, "contactId"), labels
        )
        return Contact.from_row(row)

    @strawberry.mutation(
        description="An internal note in the conversation: a NOTE message for the team, "
        "never sent to WhatsApp, never unread."
    )
    async def add_note(self, info: Info, contact_id: strawberry.ID, text: str) -> Message:
        row = await notes.add_note(
            info.context.runtime, info.context.viewer, parse_id(contact_id, "contactId"), text
        )
        return Message.from_row(row)
