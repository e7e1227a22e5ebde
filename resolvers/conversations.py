from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import lru_cache
from typing import TypeVar

import strawberry
from databases import Database
from strawberry.types.nodes import SelectedField, Selection

from resolvers import live_fanout
from resolvers.context import Info
from resolvers.inputs import parse_id, parse_seq
from schema.conversation import (
    AssigneeFilter,
    Contact,
    ContactConnection,
    ContactEdge,
    ContactEvent,
    ContactType,
    ConversationStatus,
    Message,
    MessageConnection,
    MessageEdge,
    MessageEvent,
    StreamEventKind,
    page_info,
)
from schema.executor import SharedResults
from services.errors import NotFound
from services.identity import access
from services.messaging import conversations as service
from services.platform.events import StreamEvent, instance_stream

T = TypeVar("T")


def _asked_fields(selections: list[Selection], path: tuple[str, ...]) -> set[str]:
    """Names of the fields selected at `path` (through fragments, whatever their condition:
    reading a field that is skipped after all costs little, and nothing goes wrong)."""
    names: set[str] = set()
    for selection in selections:
        if not isinstance(selection, SelectedField):
            names |= _asked_fields(selection.selections, path)
        elif not path:
            names.add(selection.name)
        elif selection.name == path[0]:
            names |= _asked_fields(selection.selections, path[1:])
    return names


@strawberry.type
class ConversationQueries:
    @strawberry.field(
        description="Contacts of a number, newest conversation first. `search` "
        "matches names and phone numbers in any format; `status`, `assignee` (ME, "
        "UNASSIGNED, ANY), `assigneeId` and `label` (case ignored) narrow the list, "
        "combined with `search` and `type`. `first` (50 when neither is given) with "
        "`after` goes on to older conversations; `last` with `before` comes back to "
        "newer ones (edges still newest first)."
    )
    async def contacts(
        self,
        info: Info,
        instance_id: strawberry.ID,
        type: ContactType | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: ConversationStatus | None = None,
        assignee: AssigneeFilter = AssigneeFilter.ANY,
        assignee_id: strawberry.ID | None = None,
        label: str | None = None,
    ) -> ContactConnection:
        # Asked-for unread counts and last messages come with the page (one statement).
        asked = _asked_fields(info.selected_fields, (info.field_name, "edges", "node"))
        page = await service.list_contacts(
            info.context.runtime,
            info.context.viewer,
            parse_id(instance_id, "instanceId"),
            contact_type=type.value if type else None,
            search=search,
            first=first,
            after=after,
            last=last,
            before=before,
            with_unread_count="unreadCount" in asked,
            with_last_message="lastMessage" in asked,
            status=status.value if status else None,
            assignee=assignee.value,
            assignee_id=parse_id(assignee_id, "assigneeId") if assignee_id is not None else None,
            label=label,
        )
        return ContactConnection(
            edges=[
                ContactEdge(cursor=c, node=Contact.from_listed(listed))
                for listed, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=page_info(page),
        )

    @strawberry.field
    async def contact(self, info: Info, id: strawberry.ID) -> Contact | None:
        try:
            row = await service.visible_contact(
                info.context.runtime, info.context.viewer, parse_id(id)
            )
        except NotFound:
            return None
        return Contact.from_row(row)

    @strawberry.field(
        description="A contact's messages, newest first. `first` (50 when neither is "
        "given) with `after` goes back in time; `last` with `before` comes forward "
        "from a cursor (edges still newest first)."
    )
    async def messages(
        self,
        info: Info,
        contact_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MessageConnection:
        page = await service.list_messages(
            info.context.runtime,
            info.context.viewer,
            parse_id(contact_id, "contactId"),
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return MessageConnection(
            edges=[
                MessageEdge(cursor=c, node=Message.from_row(r))
                for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=page_info(page),
        )


@strawberry.type
class ConversationMutations:
    @strawberry.mutation(description="Mark the contact read for the viewer only.")
    async def mark_contact_read(self, info: Info, contact_id: strawberry.ID) -> Contact:
        row = await service.mark_contact_read(
            info.context.runtime, info.context.viewer, parse_id(contact_id, "contactId")
        )
        return Contact.from_row(row)


async def _stream(
    info: Info, instance_id: strawberry.ID, after_seq: str | None, select: live_fanout.Select
) -> AsyncGenerator[StreamEvent, None]:
    """The instance's ordered events for a viewer who may see it, re-checking membership.
    Over graphql-transport-ws with LIVE_FANOUT=direct, its live events are delivered by
    resolvers/live_fanout.py once caught up (applying `select` and the same checks)."""
    context = info.context
    runtime, viewer = context.runtime, context.viewer
    target = parse_id(instance_id, "instanceId")
    after = parse_seq(after_seq)
    membership = access.MembershipWatch(runtime.db, viewer, target)
    await membership.start()
    handover = live_fanout.handover(info, target, membership, select)
    async for event in instance_stream(runtime.bus, runtime.db, target, after, handover):
        if not await membership.still_allowed():
            return  # membership removed: stop delivering
        if context.token_expired():
            return  # nothing more for a token that expired (an HTTP stream ends here)
        context.fresh_loaders()
        yield event


async def _shared_event(
    info: Info, event: StreamEvent, build: Callable[[Database, StreamEvent], Awaitable[T | None]]
) -> T | None:
    """The event's payload, built once per process for all its subscribers (SharedLoads);
    the executor then shares the execution of identical selections (schema/executor.py)."""
    db = info.context.runtime.db
    key = (event.topic, event.entity_id, event.seq)
    return await info.context.runtime.live_loads.get(key, lambda: build(db, event))


async def _message_event(db: Database, event: StreamEvent) -> MessageEvent | None:
    assert event.entity_id is not None
    row = await service.get_message(db, event.entity_id)
    return (
        MessageEvent(
            seq=str(event.seq),
            kind=_kind(event),
            message=Message.from_row(row),
            shared_results=SharedResults(),
        )
        if row
        else None
    )


async def _contact_event(db: Database, event: StreamEvent) -> ContactEvent | None:
    assert event.entity_id is not None
    # The last message is read with the row: read later, by a loader, it could be newer than
    # the unread count the viewer's execution read before it.
    found = await service.get_contact_with_last_message(db, event.entity_id)
    if found is None:
        return None
    row, last_message = found
    return ContactEvent(
        seq=str(event.seq),
        kind=_kind(event),
        contact=Contact.from_row(row, last_message=last_message),
        contact_id=strawberry.ID(str(row["id"])),
        shared_results=SharedResults(),
    )


async def _deleted_contact_event(db: Database, event: StreamEvent) -> ContactEvent:
    return ContactEvent(
        seq=str(event.seq),
        kind=StreamEventKind.DELETED,
        contact=None,
        contact_id=strawberry.ID(str(event.entity_id)),
        shared_results=SharedResults(),
    )


@lru_cache(maxsize=1024)
def _messages_of(only: uuid.UUID | None) -> live_fanout.Select:
    """Which payload a messageEvents subscriber gets for an event (None: not for it). One
    function per contact (or none), so the fan-out asks it once per event for all of them."""

    def select(event: StreamEvent) -> live_fanout.Build | None:
        if event.topic != "message" or (only is not None and event.contact_id != only):
            return None
        return _message_event

    return select


def _contacts(event: StreamEvent) -> live_fanout.Build | None:
    """Which payload a contactEvents subscriber gets for an event (None: not for it)."""
    if event.topic != "contact":
        return None
    return _deleted_contact_event if event.op == "deleted" else _contact_event


def _kind(event: StreamEvent) -> StreamEventKind:
    if event.topic is None:
        return StreamEventKind.RELOAD_REQUIRED
    if event.op == "deleted":
        return StreamEventKind.DELETED
    return StreamEventKind.CREATED if event.op == "created" else StreamEventKind.UPDATED


@strawberry.type
class ConversationSubscriptions:
    @strawberry.subscription(
        description="New messages and status changes of a number (one "
        "contact with contactId). Pass the last seq you saw "
        "as afterSeq to resume without gaps or duplicates."
    )
    async def message_events(
        self,
        info: Info,
        instance_id: strawberry.ID,
        contact_id: strawberry.ID | None = None,
        after_seq: str | None = None,
    ) -> AsyncGenerator[MessageEvent, None]:
        only = parse_id(contact_id, "contactId") if contact_id is not None else None
        select = _messages_of(only)
        async for event in _stream(info, instance_id, after_seq, select):
            if event.topic is None:
                yield MessageEvent(seq=str(event.seq), kind=_kind(event), message=None)
                continue
            build = select(event)
            payload = await _shared_event(info, event, build) if build else None
            if payload is not None:
                yield payload

    @strawberry.subscription(
        description="Contacts of a number that changed: new contact, new "
        "last message, unread count, name or client link."
    )
    async def contact_events(
        self, info: Info, instance_id: strawberry.ID, after_seq: str | None = None
    ) -> AsyncGenerator[ContactEvent, None]:
        async for event in _stream(info, instance_id, after_seq, _contacts):
            if event.topic is None:
                yield ContactEvent(seq=str(event.seq), kind=_kind(event), contact=None)
                continue
            build = _contacts(event)
            payload = await _shared_event(info, event, build) if build else None
            if payload is not None:
                yield payload
