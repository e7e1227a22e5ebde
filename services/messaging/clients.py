"""Contacts and the client base: search clients, link or unlink a contact, create a client
from a contact (the seed's contact panel and `matchContactWithClient`)."""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from databases import Database

from db import clients as clients_db, contacts as contacts_db
from db.sql import Row
from services.common.pagination import Page, decode_text_cursor, encode_text_cursor, page_size
from services.common.phones import normalize_phone, phone_key, search_digits
from services.common.rows import in_key_order
from services.common.text_rules import clean_block, clean_line, escape_like
from services.errors import BadInput, NotFound
from services.identity.auth import Principal
from services.messaging.conversations import CONTACT_TYPES, visible_contact
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase
from services.platform.events import Publication


class Uses(WithDatabase, WithBus, Protocol): ...


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200
MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_DOCUMENT = 40  # a CPF or CNPJ, formatted, with room for a foreign id
MAX_NOTES = 5000


async def list_clients(
    runtime: WithDatabase,
    principal: Principal,
    search: str | None,
    first: int | None,
    after: str | None,
) -> Page[Row]:
    _ = principal.profile_id  # any signed-in agent may look clients up to link them
    size = page_size(first)
    term = (search or "").strip()
    digits = search_digits(term) if term else None
    rows = await clients_db.search_clients(
        runtime.db,
        name_pattern=f"%{escape_like(term)}%" if term else None,
        digits_pattern=f"%{digits}%" if digits else None,
        after=decode_text_cursor(after),
        limit=size + 1,
    )
    items = rows[:size]
    cursors = [encode_text_cursor(r["name"], r["id"]) for r in items]
    return Page(items, len(rows) > size, cursors, has_previous=after is not None)


async def update_contact(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Type, client link and name. A name set here is never overwritten by WhatsApp's
    pushName; setting it to null gives the contact its WhatsApp name back."""
    contact = await visible_contact(runtime, principal, contact_id)
    values: dict[str, Any] = {}
    if "contact_type" in changes:
        if changes["contact_type"] not in CONTACT_TYPES:
            raise BadInput("contactType is not a contact type", field="contactType")
        values["contact_type"] = changes["contact_type"]
    if "client_id" in changes:
        client_id = changes["client_id"]
        if client_id is None:
            values["client_id"] = None
            if contact["contact_type"] == "cliente" and "contact_type" not in values:
                values["contact_type"] = "unknown"
        else:
            if await clients_db.get_client(runtime.db, client_id) is None:
                raise BadInput("clientId is not a client", field="clientId")
            values["client_id"] = client_id
            values.setdefault("contact_type", "cliente")
        values["client_match_ambiguous"] = False
    if "name" in changes:
        name = clean_line(changes["name"], "name", MAX_NAME)
        values["name"] = name or contact["push_name"]
        values["name_locked"] = bool(name)
    if not values:
        return contact
    async with runtime.db.transaction():
        row, published = await _apply(runtime, contact, values)
    await runtime.bus.publish(published)
    return row


async def create_client_from_contact(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, data: dict[str, Any]
) -> Row:
    contact = await visible_contact(runtime, principal, contact_id)
    if contact["is_group"]:
        raise BadInput("a group cannot become a client", field="contactId")
    name = (
        clean_line(data.get("name"), "name", MAX_NAME)
        or " ".join((contact["name"] or contact["push_name"] or "").split())[:MAX_NAME]
    )
    if not name:
        raise BadInput("name is required: the contact has no name to use", field="name")
    email = clean_line(data.get("email"), "email", MAX_EMAIL)
    if email and not EMAIL.match(email):
        raise BadInput("email is not an e-mail address", field="email")
    document = clean_line(data.get("document"), "document", MAX_DOCUMENT)
    notes = clean_block(data.get("notes"), "notes", MAX_NOTES)
    phone = normalize_phone(contact["phone_number"]) if contact["phone_number"] else None
    async with runtime.db.transaction():
        client = await clients_db.insert_client(
            runtime.db,
            name=name,
            phone=phone,
            phone_key=phone_key(phone) if phone else None,
            email=email,
            document=document,
            notes=notes,
            created_by=principal.profile_id,
        )
        row, published = await _apply(
            runtime,
            contact,
            {"client_id": client["id"], "contact_type": "cliente", "client_match_ambiguous": False},
        )
    await runtime.bus.publish(published)
    return row


async def _apply(
    runtime: WithDatabase, contact: Row, values: dict[str, Any]
) -> tuple[Row, list[Publication]]:
    """Write the changes in the caller's transaction; return what to publish after it."""
    row = await contacts_db.update_contact(runtime.db, contact["id"], **values)
    if row is None:
        raise NotFound("Contact not found", id=str(contact["id"]))
    publication = await events.record(
        runtime.db, row["instance_id"], "contact", "updated", row["id"], row["id"]
    )
    return row, [publication]


async def clients_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    """A batch read for DataLoaders: the clients in the order of `ids`, None for a miss."""
    return in_key_order(await clients_db.get_clients(db, ids), ids)
