"""Quick messages: `/shortcut` replies with variables, rendered for one contact.

`renderQuickMessage` and `sendMessage(quickMessageShortcut:)` share `render_for_contact`, so an
agent sends exactly the preview they saw.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import asyncpg
from databases import Database

from db import (
    clients as clients_db,
    instances as instances_db,
    profiles as profiles_db,
    quick_messages as quick_db,
)
from db.sql import Row
from services.automation.variables import render_template, template_values
from services.common.rows import in_key_order
from services.common.text_rules import clean_line, escape_like
from services.errors import BadInput, Conflict, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.platform.capabilities import WithDatabase, WithSettings


class Uses(WithDatabase, WithSettings, Protocol): ...


SHORTCUT = re.compile(r"^[a-z0-9_\-.]{1,32}$")
MAX_TEXT = 4096
MAX_DESCRIPTION = 200


def clean_shortcut(value: str) -> str:
    shortcut = value.strip().removeprefix("/").lower()
    if not SHORTCUT.match(shortcut):
        raise BadInput(
            "shortcut must be 1 to 32 characters: lower-case letters, digits, "
            "'-', '_' or '.', no spaces (a leading / is optional)",
            field="shortcut",
        )
    return shortcut


def clean_text(value: str, field: str = "messageText") -> str:
    text = value.strip()
    if not text:
        raise BadInput(f"{field} must not be empty", field=field)
    if len(text) > MAX_TEXT:
        raise BadInput(f"{field} must be at most {MAX_TEXT} characters", field=field)
    return text


async def timezone_of(runtime: Uses, instance_id: uuid.UUID) -> ZoneInfo:
    settings = await instances_db.get_settings(runtime.db, instance_id)
    name = settings["timezone"] if settings and settings["timezone"] else None
    return ZoneInfo(name or runtime.settings.business_timezone)


async def render_for_contact(
    runtime: Uses, principal: Principal, shortcut: str, contact: Row
) -> str:
    quick = await quick_db.get_by_shortcut(runtime.db, clean_shortcut(shortcut))
    if quick is None:
        raise NotFound(f"No quick message /{clean_shortcut(shortcut)}", field="shortcut")
    client = (
        (await clients_db.get_clients(runtime.db, [contact["client_id"]]))[0]
        if contact["client_id"]
        else None
    )
    agent = await profiles_db.get_profile(runtime.db, principal.profile_id)
    values = template_values(
        client_name=client["name"] if client else None,
        contact_name=contact["name"],
        phone_digits=contact["phone_number"] or None,
        agent_name=(agent["full_name"] if agent else None) or principal.name,
        now=datetime.now(UTC),
        tz=await timezone_of(runtime, contact["instance_id"]),
    )
    return render_template(quick["message_text"], values)


async def search(runtime: WithDatabase, principal: Principal, text: str | None) -> list[Row]:
    term = (text or "").strip().removeprefix("/").lower() or None
    # `%` and `_` are searched for as themselves, as in contacts and clients.
    literal = escape_like(term) if term else None
    pattern = f"%{literal}%" if literal else None
    return await quick_db.search(runtime.db, literal, pattern, 50)


async def create(
    runtime: WithDatabase,
    principal: Principal,
    shortcut: str,
    message_text: str,
    description: str | None,
) -> Row:
    access.require_admin(principal, "manage quick messages")
    row = await quick_db.insert(
        runtime.db,
        clean_shortcut(shortcut),
        clean_text(message_text),
        clean_line(description, "description", MAX_DESCRIPTION),
        principal.profile_id,
    )
    if row is None:
        raise Conflict(f"The shortcut /{clean_shortcut(shortcut)} already exists", field="shortcut")
    return row


async def update(
    runtime: WithDatabase, principal: Principal, quick_id: uuid.UUID, changes: dict[str, object]
) -> Row:
    access.require_admin(principal, "manage quick messages")
    if await quick_db.get(runtime.db, quick_id) is None:
        raise NotFound("Quick message not found", id=str(quick_id))
    cleaned: dict[str, object] = {}
    if changes.get("shortcut") is not None:
        cleaned["shortcut"] = clean_shortcut(str(changes["shortcut"]))
    if "message_text" in changes:
        cleaned["message_text"] = clean_text(str(changes["message_text"] or ""))
    if "description" in changes:
        cleaned["description"] = clean_line(
            str(changes["description"] or ""), "description", MAX_DESCRIPTION
        )
    if not cleaned:
        row = await quick_db.get(runtime.db, quick_id)
        assert row is not None
        return row
    try:
        row = await quick_db.update(runtime.db, quick_id, **cleaned)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"The shortcut /{cleaned['shortcut']} already exists", field="shortcut"
        ) from None
    if row is None:
        raise NotFound("Quick message not found", id=str(quick_id))
    return row


async def delete(runtime: WithDatabase, principal: Principal, quick_id: uuid.UUID) -> None:
    access.require_admin(principal, "manage quick messages")
    if not await quick_db.delete(runtime.db, quick_id):
        raise NotFound("Quick message not found", id=str(quick_id))


async def quick_messages_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    """A batch read for DataLoaders: the quick messages in the order of `ids`, None for a miss."""
    return in_key_order(await quick_db.get_many(db, ids), ids)
