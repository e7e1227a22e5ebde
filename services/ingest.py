"""Apply one stored webhook event to the database (the seed's `processIncomingMessage` and
`syncContact`). Runs inside the processor's transaction; returns what to publish after commit.

Every handler is idempotent: Evolution delivers duplicates, out of order, and through both the
plain and the by-event URL, so applying an event twice must leave the same state.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from databases import Database

from db import (
    instances as instances_db,
    messages as messages_db,
    outbox as outbox_db,
)
from db.sql import Row
from services import autoreply, events, instances as instances_service, media_fetcher
from services.contacts import Identity, identity_of, sync_contact, usable_name
from services.events import Publication
from services.message_content import message_timestamp, parse_content
from services.message_status import from_evolution, next_status
from services.metrics import MESSAGE_STATUS
from services.runtime import Runtime

log = logging.getLogger("atendimento.ingest")

MESSAGE_EVENTS = {"messages.upsert", "send.message"}
LIFECYCLE_EVENTS = {"connection.update", "qrcode.updated", "logout.instance", "remove.instance"}
CONTACT_EVENTS = {"contacts.upsert", "contacts.update"}


class Postpone(Exception):
    """Not applicable yet: retry this event shortly, without counting a failed attempt."""


HANDLED_EVENTS = MESSAGE_EVENTS | LIFECYCLE_EVENTS | CONTACT_EVENTS | {
    "messages.update", "messages.delete"}


class Batch:
    """What one processor batch of an instance shares: the instance row (the processor puts
    the new one here after a lifecycle event) and the instance's settings, read once, when
    first needed. A settings change made meanwhile applies from the next batch."""

    def __init__(self, instance: Row) -> None:
        self.instance = instance
        self._settings: Row | None = None
        self._settings_read = False

    async def settings(self, db: Database) -> Row | None:
        if not self._settings_read:
            self._settings = await instances_db.get_settings(db, self.instance["id"])
            self._settings_read = True
        return self._settings

    async def ignore_groups(self, db: Database) -> bool:
        settings = await self.settings(db)
        return True if settings is None else bool(settings["ignore_groups"])


async def apply_event(runtime: Runtime, batch: Batch, event: str, data: Any) -> list[Publication]:
    instance = batch.instance
    if event in MESSAGE_EVENTS:
        items = data if isinstance(data, list) else [data]
        published: list[Publication] = []
        for item in items:
            if isinstance(item, dict):
                published += await store_message(runtime, batch, item, event == "send.message")
        return published
    if event == "messages.update":
        items = data if isinstance(data, list) else [data]
        published = []
        for item in items:
            if isinstance(item, dict):
                published += await apply_receipt(runtime.db, instance, item)
        return published
    if event == "messages.delete":
        return await apply_delete(runtime.db, instance, data)
    if event in CONTACT_EVENTS:
        return await apply_contacts(runtime.db, batch, data)
    if event in LIFECYCLE_EVENTS:
        return await instances_service.apply_lifecycle_event(runtime, instance, event, data)
    return []


def _streamed(instance_id: uuid.UUID, seq: int, topic: str, op: str, entity_id: uuid.UUID,
              contact_id: uuid.UUID) -> Publication:
    """What `events.record` returns, for stream events appended by a combined statement."""
    return Publication(
        events.instance_channel(instance_id),
        {"seq": seq, "topic": topic, "op": op, "id": str(entity_id),
         "contact_id": str(contact_id) if contact_id else None},
    )


async def store_message(
    runtime: Runtime, batch: Batch, data: dict[str, Any], from_api: bool
) -> list[Publication]:
    db = runtime.db
    instance = batch.instance
    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    message_id = key.get("id")
    if not isinstance(message_id, str) or not message_id:
        log.warning("message without key.id ignored")
        return []
    identity = identity_of(key.get("remoteJid"), key.get("remoteJidAlt"), key.get("senderPn"))
    if identity is None:
        return []
    if identity.is_group and await batch.ignore_groups(db):
        return []
    from_me = bool(key.get("fromMe"))
    content = parse_content(data)
    timestamp = message_timestamp(data)
    status = from_evolution(data.get("status"))
    if from_me:
        # An echo of a send is already on its way to WhatsApp; a webhook never creates a row
        # our outbox would pick up and send a second time.
        status = "sent" if status in (None, "pending") else status
    else:
        status = "read" if status == "read" else "delivered"

    published: list[Publication] = []
    contact = await _contact_for_message(db, instance, identity, data, from_me, published)
    if contact is None:
        return published

    if from_api:
        existing = await messages_db.lock_by_message_id(db, instance["id"], message_id)
        if existing is not None:
            return published + await _advance(db, instance, existing, status, content.media_url)
        if await outbox_db.in_flight_for_contact(db, contact["id"]):
            # Probably the echo of our own send, whose answer (with this id) is not stored
            # yet; storing it now would make a second row for one message.
            raise Postpone()

    # New messages are the common case: the insert comes first, in one statement with the
    # receipt, the contact's last message and the stream events; a redelivery inserts nothing
    # and is then advanced like before.
    touch_contact = not content.is_reaction
    sender_jid = key.get("participantAlt") or key.get("participant") if identity.is_group else None
    row = await messages_db.insert_incoming(
        db, touch_contact=touch_contact,
        instance_id=instance["id"], contact_id=contact["id"], message_id=message_id,
        remote_jid=identity.jid, from_me=from_me, message_type=content.message_type,
        text_content=content.text, media_url=content.media_url,
        media_mime_type=content.media_mime_type, media_size=content.media_size,
        media_filename=content.media_filename, media_seconds=content.media_seconds,
        quoted_message_id=content.quoted_message_id, status=status, timestamp=timestamp,
        sender_jid=sender_jid if isinstance(sender_jid, str) else None,
        sender_name=data.get("pushName") if identity.is_group and not from_me else None,
        metadata=content.metadata or None, **media_fetcher.incoming_columns(content),
    )
    if row is None:
        # Already stored. A send's echo was looked up above: this one was stored by a
        # concurrent writer between that look-up and the insert.
        existing = None if from_api else await messages_db.lock_by_message_id(
            db, instance["id"], message_id)
        if existing is None:
            return published
        return published + await _advance(db, instance, existing, status, content.media_url)
    seq = row["last_seq"]
    published.append(_streamed(instance["id"], seq - 1 if touch_contact else seq, "message",
                               "created", row["id"], contact["id"]))
    if touch_contact:
        published.append(_streamed(instance["id"], seq, "contact", "updated", contact["id"],
                                   contact["id"]))
    changes: dict[str, Any] = {}
    if row["receipt_status"]:  # a receipt that arrived before its message
        final = next_status(row["status"], row["receipt_status"])
        if final != row["status"]:
            changes["status"] = final
    if row["receipt_deleted"]:
        changes["deleted_at"] = row["created_at"]
    row = await media_fetcher.keep_inline(runtime, row, data)  # `message.base64`, if sent
    if changes:
        row = await messages_db.update_message(db, row["id"], **changes) or row
    if touch_contact and not from_api:
        published += await autoreply.maybe_reply(runtime, instance, contact, row,
                                                 await batch.settings(db))
    return published


async def _contact_for_message(
    db: Database, instance: Row, identity: Identity, data: dict[str, Any], from_me: bool,
    published: list[Publication],
) -> Row | None:
    # pushName is the author's name: ours on fromMe messages, a participant's in groups.
    push_name = None if from_me or identity.is_group else usable_name(data.get("pushName"),
                                                                      identity)
    result = await sync_contact(db, instance["id"], identity, push_name=push_name)
    if result is None:
        return None
    if result.created or result.changed:
        published.append(await events.record(
            db, instance["id"], "contact", "created" if result.created else "updated",
            result.contact["id"], result.contact["id"]))
    return result.contact


async def _advance(
    db: Database, instance: Row, message: Row, status: str | None, media_url: str | None
) -> list[Publication]:
    changes: dict[str, Any] = {}
    if status is not None:
        final = next_status(message["status"], status)
        if final != message["status"]:
            changes["status"] = final
    if media_url and not message["media_url"]:
        changes["media_url"] = media_url
    if not changes:
        return []
    await messages_db.update_message(db, message["id"], **changes)
    if message["from_me"] and "status" in changes:
        MESSAGE_STATUS.labels(instance["instance_name"], changes["status"]).inc()
    return [await events.record(db, instance["id"], "message", "updated", message["id"],
                                message["contact_id"])]


async def apply_receipt(db: Database, instance: Row, data: dict[str, Any]) -> list[Publication]:
    """`messages.update`: matched by `keyId` alone, since its remoteJid may be a LID."""
    message_id = data.get("keyId") or (data.get("key") or {}).get("id")
    status = from_evolution(data.get("status"))
    if not isinstance(message_id, str) or status is None:
        return []
    message = await messages_db.lock_by_message_id(db, instance["id"], message_id)
    if message is None:
        receipt = await messages_db.get_receipt(db, instance["id"], message_id)
        if receipt is not None and receipt["status"]:
            status = next_status(receipt["status"], status)
        await messages_db.save_receipt(db, instance["id"], message_id, status, False)
        return []
    return await _advance(db, instance, message, status, None)


async def apply_delete(db: Database, instance: Row, data: Any) -> list[Publication]:
    """`messages.delete` ("deleted for everyone"): the row stays, marked deleted."""
    if not isinstance(data, dict):
        return []
    message_id = data.get("id") or (data.get("key") or {}).get("id")
    if not isinstance(message_id, str):
        return []
    message = await messages_db.lock_by_message_id(db, instance["id"], message_id)
    if message is None:
        await messages_db.save_receipt(db, instance["id"], message_id, None, True)
        return []
    if message["deleted_at"] is not None:
        return []
    await messages_db.update_message(db, message["id"], deleted_at=datetime.now(UTC))
    return [await events.record(db, instance["id"], "message", "updated", message["id"],
                                message["contact_id"])]


async def apply_contacts(db: Database, batch: Batch, data: Any) -> list[Publication]:
    """`contacts.upsert` / `contacts.update`, one object or an array (an address-book sync)."""
    instance = batch.instance
    items = data if isinstance(data, list) else [data]
    ignore_groups = await batch.ignore_groups(db)
    published: list[Publication] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        identity = identity_of(item.get("remoteJid"))
        if identity is None or (identity.is_group and ignore_groups):
            continue
        picture = item.get("profilePicUrl") if isinstance(item.get("profilePicUrl"), str) else None
        # Only people with a phone number become new contacts from a sync; LIDs and groups are
        # only refreshed, or the list would fill with ids nobody ever talked to.
        result = await sync_contact(
            db, instance["id"], identity,
            push_name=None if identity.is_group else usable_name(item.get("pushName"), identity),
            picture_url=picture, create=identity.phone is not None,
        )
        if result is not None and (result.created or result.changed):
            published.append(await events.record(
                db, instance["id"], "contact", "created" if result.created else "updated",
                result.contact["id"], result.contact["id"]))
    return published
