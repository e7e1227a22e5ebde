"""Reading conversations: the contact list and a contact's message history, per agent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Protocol

from databases import Database

from db import contacts as contacts_db, messages as messages_db
from db.sql import Row
from services.common.pagination import (
    Page,
    decode_activity_cursor,
    decode_arrival_cursor,
    encode_cursor,
    window,
)
from services.common.phones import search_digits
from services.common.rows import in_key_order
from services.errors import BadInput, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.messaging.read_receipts import send_read_receipts
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithSpawn,
    WithVault,
)


class Uses(WithDatabase, WithBus, WithEvolution, WithVault, WithSpawn, Protocol): ...


CONTACT_TYPES = ("cliente", "lead", "profissional", "prestador", "unknown")


class NotRead(Enum):
    """A value the list was not asked to read (None means "read, and there is none")."""

    NOT_READ = "not read"


NOT_READ: Final = NotRead.NOT_READ


@dataclass(frozen=True, slots=True)
class ListedContact:
    """A contact of the list, with what the same statement read beside it."""

    row: Row
    unread_count: int | NotRead
    """The viewer's unread count."""
    last_message: dict[str, Any] | None | NotRead
    """The newest message that is not a reaction, with the columns of a message row."""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def visible_contact(
    runtime: WithDatabase, principal: Principal, contact_id: uuid.UUID
) -> Row:
    row = await contacts_db.get_contact(runtime.db, contact_id)
    if row is None or not await access.can_access_instance(
        runtime.db, principal, row["instance_id"]
    ):
        raise NotFound("Contact not found", id=str(contact_id))
    return row


async def list_contacts(
    runtime: WithDatabase,
    principal: Principal,
    instance_id: uuid.UUID,
    *,
    contact_type: str | None,
    search: str | None,
    first: int | None,
    after: str | None,
    with_unread_count: bool = False,
    with_last_message: bool = False,
    last: int | None = None,
    before: str | None = None,
    status: str | None = None,
    assignee: str = "ANY",
    assignee_id: uuid.UUID | None = None,
    label: str | None = None,
) -> Page[ListedContact]:
    """A page of the number's contacts; each with the viewer's own unread count and its last
    message when asked for (read with the page, in the same statement). `first` after a
    cursor goes on to older conversations, `last` before one comes back to newer ones.

    Inbox filters: `status`; `assignee` ME (the viewer's), UNASSIGNED or ANY, or `assignee_id`
    (one agent's; not together with ME or UNASSIGNED); `label` (case ignored)."""
    await access.visible_instance(runtime.db, principal, instance_id)
    if assignee_id is not None and assignee != "ANY":
        raise BadInput("give assignee or assigneeId, not both", field="assigneeId")
    if assignee == "ME":
        assignee_id = principal.profile_id
    label_key = None
    if label is not None:
        label_key = " ".join(label.split()).casefold()
        if not label_key:
            raise BadInput("label must not be empty", field="label")
    cut = window(first, last)
    start, end = decode_activity_cursor(after), decode_activity_cursor(before, "before")
    name_pattern = phone_pattern = None
    term = (search or "").strip()
    if term:
        name_pattern = _like(term)
        digits = search_digits(term)
        phone_pattern = _like(digits) if digits else None
    rows = await contacts_db.list_contacts(
        runtime.db,
        instance_id,
        contact_type=contact_type,
        name_pattern=name_pattern,
        phone_pattern=phone_pattern,
        after=start,
        before=end,
        backward=cut.backward,
        limit=cut.size + 1,
        unread_for=principal.profile_id if with_unread_count else None,
        with_last_message=with_last_message,
        status=status,
        assignee_id=assignee_id,
        unassigned=assignee == "UNASSIGNED",
        label_key=label_key,
    )
    listed = [
        ListedContact(
            row=row,
            unread_count=row["unread_count"] if with_unread_count else NOT_READ,
            last_message=contacts_db.last_message_of(row) if with_last_message else NOT_READ,
        )
        for row in rows
    ]
    cursors = [
        encode_cursor(c.row["activity_at"], c.row["activity_arrival"], c.row["id"]) for c in listed
    ]
    return cut.page(listed, cursors, (after is not None, before is not None))


async def list_messages(
    runtime: Uses,
    principal: Principal,
    contact_id: uuid.UUID,
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Page[Row]:
    """A page of the contact's messages, newest first: `first` after a cursor goes back in
    time, `last` before a cursor comes forward (both answer newest first)."""
    await visible_contact(runtime, principal, contact_id)
    cut = window(first, last)
    start, end = decode_arrival_cursor(after), decode_arrival_cursor(before, "before")
    rows = await messages_db.page_for_contact(
        runtime.db, contact_id, after=start, before=end, limit=cut.size + 1, backward=cut.backward
    )
    cursors = [message_cursor(r["timestamp"], r["arrival"]) for r in rows]
    return cut.page(rows, cursors, (after is not None, before is not None))


async def mark_contact_read(runtime: Uses, principal: Principal, contact_id: uuid.UUID) -> Row:
    """Move the viewer's own read mark; other agents' unread counts are untouched."""
    contact = await visible_contact(runtime, principal, contact_id)
    await contacts_db.mark_read(runtime.db, principal.profile_id, contact_id)
    runtime.spawn(send_read_receipts(runtime, contact))
    return contact


# Batch reads: each takes keys and answers in their order (None for a miss). GraphQL's
# DataLoaders call them; the access check happened where the keys came from.


async def get_contact_with_last_message(
    db: Database, contact_id: uuid.UUID
) -> tuple[Row, dict[str, Any] | None] | None:
    """The contact and its last message, read together (a live event's payload)."""
    row = await contacts_db.get_contact_with_last_message(db, contact_id)
    return None if row is None else (row, contacts_db.last_message_of(row))


async def get_message(db: Database, message_id: uuid.UUID) -> Row | None:
    return await messages_db.get_message(db, message_id)


async def contacts_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    return in_key_order(await contacts_db.get_contacts(db, ids), ids)


async def messages_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    return in_key_order(await messages_db.get_messages(db, ids), ids)


async def messages_by_whatsapp_id(
    db: Database, keys: list[tuple[uuid.UUID, str]]
) -> list[Row | None]:
    """A batch of (contact id, WhatsApp message id) lookups: a quoted message in its chat."""
    rows = await messages_db.messages_by_whatsapp_id(db, keys)
    found = {(row["contact_id"], row["message_id"]): row for row in rows}
    return [found.get(key) for key in keys]


def message_cursor(timestamp: datetime, arrival: int) -> str:
    """A message's cursor in its chat's `messages` connection (and in `searchMessages`)."""
    return encode_cursor(timestamp, arrival)


async def interactions_by_contact(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    return in_key_order(await contacts_db.interaction_summaries(db, ids), ids, "contact_id")


async def last_messages_by_contact(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    return in_key_order(await messages_db.last_messages(db, ids), ids, "contact_id")


async def unread_counts(
    db: Database, principal: Principal | None, ids: list[uuid.UUID]
) -> list[int]:
    """The viewer's own unread count of each contact (0 without a viewer)."""
    if principal is None:
        return [0] * len(ids)
    counts = await contacts_db.unread_counts(db, principal.profile_id, ids)
    return [counts.get(i, 0) for i in ids]
