"""Contacts: one row per person (or group) per instance, whatever identity WhatsApp shows.

A person can appear by phone JID (`…@s.whatsapp.net`) or by privacy id (`…@lid`). The phone JID
is the contact's key when known; a LID-only contact is merged into the phone one as soon as a
payload links the two, so one person never has two conversations on one number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from databases import Database

from db import clients as clients_db, contacts as contacts_db
from db.sql import Row
from services.common.phones import parse_jid, phone_key


@dataclass(frozen=True)
class Identity:
    jid: str  # what the contact is keyed by: phone JID, group JID, or LID when nothing better
    phone: str | None
    lid: str | None
    is_group: bool


def identity_of(remote_jid: Any, alt_jid: Any = None, sender_pn: Any = None) -> Identity | None:
    """The identity of a chat from a message key (or a contact payload); None if unusable."""
    if not isinstance(remote_jid, str) or "@" not in remote_jid:
        return None
    jid = parse_jid(remote_jid)
    if jid.kind in ("group", "broadcast", "status"):
        return Identity(remote_jid, None, None, True)
    if jid.kind == "newsletter" or jid.kind == "unknown":
        return None
    alternates = [parse_jid(j) for j in (alt_jid, sender_pn) if isinstance(j, str) and "@" in j]
    if jid.kind == "person":
        lid = next((f"{a.user}@lid" for a in alternates if a.kind == "lid"), None)
        return Identity(f"{jid.user}@s.whatsapp.net", jid.phone, lid, False)
    # A LID chat: the phone is known only when an alternate identity gives it.
    person = next((a for a in alternates if a.kind == "person"), None)
    lid = f"{jid.user}@lid"
    if person is not None:
        return Identity(f"{person.user}@s.whatsapp.net", person.phone, lid, False)
    return Identity(lid, None, lid, False)


@dataclass
class SyncResult:
    contact: Row
    created: bool
    changed: bool


def usable_name(push_name: Any, identity: Identity) -> str | None:
    """A pushName worth showing: not empty, not just the number or id repeated back."""
    if not isinstance(push_name, str):
        return None
    name = push_name.strip()
    if not name or name == "Você":
        return None
    user = identity.jid.split("@", 1)[0]
    if name.lstrip("+").replace(" ", "") in (user, identity.phone or ""):
        return None
    return name


def names(identity: Identity) -> list[str]:
    """What `contacts.find_for_identity` looks an identity up by: its JID, and its LID."""
    return [identity.jid] if identity.lid is None else [identity.jid, identity.lid]


def is_of(contact: Row, identity: Identity) -> bool:
    """Whether `contacts.find_for_identity` finds this contact for `identity`."""
    keys = names(identity)
    return contact["remote_jid"] in keys or contact["lid_jid"] in keys


def _primary(rows: list[Row], identity: Identity) -> Row | None:
    return next((r for r in rows if r["remote_jid"] == identity.jid), None) or (
        rows[0] if rows else None
    )


def _refresh(
    primary: Row, identity: Identity, push_name: str | None, picture_url: str | None
) -> dict[str, Any]:
    """What the payload changes on the contact, its link to a client aside."""
    changes: dict[str, Any] = {}
    if primary["remote_jid"] != identity.jid:  # a LID-only contact whose phone is now known
        changes.update(
            remote_jid=identity.jid,
            phone_number=identity.phone or "",
            phone_key=phone_key(identity.phone) if identity.phone else None,
        )
    if identity.lid and primary["lid_jid"] != identity.lid:
        changes["lid_jid"] = identity.lid
    if push_name and primary["push_name"] != push_name:
        changes["push_name"] = push_name
        if not primary["name_locked"]:
            changes["name"] = push_name
    if picture_url and primary["profile_picture_url"] != picture_url:
        changes["profile_picture_url"] = picture_url
    return changes


def settled(rows: list[Row], identity: Identity, push_name: str | None) -> Row | None:
    """The contact `sync_contact` would find among `rows` (what `find_for_identity` returns
    for `identity`, locked) and leave as it is; None when it would create, merge or change."""
    primary = _primary(rows, identity)
    if primary is None or len(rows) != 1 or _refresh(primary, identity, push_name, None):
        return None
    return primary


async def sync_contact(
    db: Database,
    instance_id: uuid.UUID,
    identity: Identity,
    *,
    push_name: str | None = None,
    picture_url: str | None = None,
    create: bool = True,
) -> SyncResult | None:
    """Find or create the contact of an identity and refresh what the payload tells us.

    Runs inside the caller's transaction (rows are locked). `push_name` must already be the
    sender's own name (never ours on a message we sent)."""
    rows = await contacts_db.find_for_identity(db, instance_id, identity.jid, identity.lid)
    primary = _primary(rows, identity)

    if primary is None:
        if not create:
            return None
        key = phone_key(identity.phone) if identity.phone else None
        values: dict[str, Any] = dict(
            remote_jid=identity.jid,
            phone_number=identity.phone or "",
            lid_jid=identity.lid,
            phone_key=key,
            is_group=identity.is_group,
            name=push_name,
            push_name=push_name,
            profile_picture_url=picture_url,
        )
        values.update(await _client_link(db, key))
        row = await contacts_db.insert_contact(db, instance_id, **values)
        return SyncResult(row, bool(row["inserted"]), True)

    for other in rows:
        if other["id"] != primary["id"]:
            await contacts_db.merge_into(db, primary["id"], other["id"])

    changes = _refresh(primary, identity, push_name, picture_url)
    if "remote_jid" in changes and primary["client_id"] is None:
        changes.update(await _client_link(db, changes["phone_key"]))
    if not changes and len(rows) == 1:
        return SyncResult(primary, False, False)
    updated = (
        await contacts_db.update_contact(db, primary["id"], **changes)
        if changes
        else await contacts_db.get_contact(db, primary["id"])
    )
    assert updated is not None
    return SyncResult(updated, False, True)


async def _client_link(db: Database, key: str | None) -> dict[str, Any]:
    """Link to the one client with this phone; two candidates are not guessed between."""
    if not key:
        return {}
    clients = await clients_db.find_by_phone_key(db, key, limit=2)
    if len(clients) == 1:
        return {"client_id": clients[0]["id"], "contact_type": "cliente"}
    if len(clients) > 1:
        return {"client_match_ambiguous": True}
    return {}
