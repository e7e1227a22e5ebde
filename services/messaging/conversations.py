"""Reading conversations: the contact list and a contact's message history, per agent."""

from __future__ import annotations

import uuid

from db import contacts as contacts_db, messages as messages_db
from db.sql import Row
from services.common.pagination import (
    Page,
    decode_activity_cursor,
    decode_arrival_cursor,
    encode_cursor,
    page_size,
)
from services.common.phones import search_digits
from services.errors import NotFound
from services.identity import access
from services.identity.auth import Principal
from services.messaging.read_receipts import send_read_receipts
from services.platform.runtime import Runtime

CONTACT_TYPES = ("cliente", "lead", "profissional", "prestador", "unknown")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def visible_contact(runtime: Runtime, principal: Principal, contact_id: uuid.UUID) -> Row:
    row = await contacts_db.get_contact(runtime.db, contact_id)
    if row is None or not await access.can_access_instance(runtime.db, principal,
                                                           row["instance_id"]):
        raise NotFound("Contact not found", id=str(contact_id))
    return row


async def list_contacts(
    runtime: Runtime, principal: Principal, instance_id: uuid.UUID, *, contact_type: str | None,
    search: str | None, first: int | None, after: str | None, with_unread_count: bool = False,
    with_last_message: bool = False,
) -> Page[contacts_db.ListedContact]:
    """A page of the number's contacts; each with the viewer's own unread count and its last
    message when asked for (read with the page, in the same statement)."""
    await access.visible_instance(runtime.db, principal, instance_id)
    size = page_size(first)
    name_pattern = phone_pattern = None
    term = (search or "").strip()
    if term:
        name_pattern = _like(term)
        digits = search_digits(term)
        phone_pattern = _like(digits) if digits else None
    listed = await contacts_db.list_contacts(
        runtime.db, instance_id, contact_type=contact_type, name_pattern=name_pattern,
        phone_pattern=phone_pattern, after=decode_activity_cursor(after), limit=size + 1,
        unread_for=principal.profile_id if with_unread_count else None,
        with_last_message=with_last_message,
    )
    items = listed[:size]
    return Page(items, len(listed) > size,
                [encode_cursor(c.row["activity_at"], c.row["activity_arrival"], c.row["id"])
                 for c in items])


async def list_messages(
    runtime: Runtime, principal: Principal, contact_id: uuid.UUID, *, first: int | None,
    after: str | None,
) -> Page[Row]:
    await visible_contact(runtime, principal, contact_id)
    size = page_size(first)
    rows = await messages_db.page_for_contact(runtime.db, contact_id,
                                              decode_arrival_cursor(after), size + 1)
    items = rows[:size]
    return Page(items, len(rows) > size,
                [encode_cursor(r["timestamp"], r["arrival"]) for r in items])


async def mark_contact_read(runtime: Runtime, principal: Principal, contact_id: uuid.UUID) -> Row:
    """Move the viewer's own read mark; other agents' unread counts are untouched."""
    contact = await visible_contact(runtime, principal, contact_id)
    await contacts_db.mark_read(runtime.db, principal.profile_id, contact_id)
    runtime.spawn(send_read_receipts(runtime, contact))
    return contact
