"""Apply stored webhook events to the database (the seed's `processIncomingMessage` and
`syncContact`), one by one or a batch at a time. Runs inside the processor's transaction;
returns what to publish after commit.

Every handler is idempotent: Evolution delivers duplicates, out of order, and through both the
plain and the by-event URL, so applying an event twice must leave the same state.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from databases import Database

from db import (
    ingest as ingest_db,
    instances as instances_db,
    messages as messages_db,
    outbox as outbox_db,
)
from db.sql import Row
from services.automation import autoreply
from services.inbox import cycle
from services.instances import lifecycle as instances_service
from services.media import fetcher as media_fetcher
from services.messaging.contacts import (
    Identity,
    identity_of,
    is_of,
    names,
    settled,
    sync_contact,
    usable_name,
)
from services.messaging.message_status import from_evolution, next_status
from services.platform import events
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithLiveness,
    WithMedia,
    WithMediaWakeup,
    WithOutboxWakeup,
    WithSettings,
    WithVault,
)
from services.platform.events import Publication
from services.platform.metrics import MESSAGE_STATUS
from services.webhooks.message_content import MessageContent, message_timestamp, parse_content


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithMedia,
    WithLiveness,
    WithOutboxWakeup,
    WithMediaWakeup,
    Protocol,
): ...


log = logging.getLogger("atendimento.ingest")

MESSAGE_EVENTS = {"messages.upsert", "send.message"}
LIFECYCLE_EVENTS = {"connection.update", "qrcode.updated", "logout.instance", "remove.instance"}
CONTACT_EVENTS = {"contacts.upsert", "contacts.update"}


class Postpone(Exception):
    """Not applicable yet: retry this event shortly, without counting a failed attempt."""


HANDLED_EVENTS = (
    MESSAGE_EVENTS | LIFECYCLE_EVENTS | CONTACT_EVENTS | {"messages.update", "messages.delete"}
)
# New messages stored with one statement at most (see `apply_events`).
MAX_RUN = 50


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


async def apply_event(runtime: Uses, batch: Batch, event: str, data: Any) -> list[Publication]:
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
        published = await instances_service.apply_lifecycle_event(runtime, instance, event, data)
        # The events after it see the instance as it now is.
        batch.instance = await instances_db.get_instance(runtime.db, instance["id"]) or instance
        return published
    return []


async def apply_events(
    runtime: Uses, batch: Batch, events: list[tuple[str, Any]]
) -> list[list[Publication]]:
    """Apply `events` (name, data) in order, as `apply_event` would one after the other, and
    return what each one publishes.

    New messages that create, change or merge no contact and get no auto-reply (nearly all
    of them) are stored together when they follow each other: a few statements for the run,
    instead of a few for each message. A failure fails the whole call, as nothing tells which
    message of a run it was: apply the events one by one then.
    """
    results: list[list[Publication]] = []
    position = 0
    while position < len(events):
        run = _run_of_messages(events, position)
        if len(run) > 1:
            results += await _apply_run(runtime, batch, run)
        else:
            results.append(await apply_event(runtime, batch, *events[position]))
        position = len(results)
    return results


def _created(
    instance_id: uuid.UUID,
    message: Row,
    contact_id: uuid.UUID,
    first_seq: int,
    touches_contact: bool,
) -> list[Publication]:
    """The stream events of a new message: "message created", then "contact updated"."""
    published = [
        events.stream_publication(
            instance_id, first_seq, "message", "created", message["id"], contact_id
        )
    ]
    if touches_contact:
        published.append(
            events.stream_publication(
                instance_id, first_seq + 1, "contact", "updated", contact_id, contact_id
            )
        )
    return published


@dataclass(frozen=True)
class Incoming:
    """A message of `messages.upsert` / `send.message`, as stored."""

    data: dict[str, Any]
    message_id: str
    identity: Identity
    from_me: bool
    content: MessageContent
    timestamp: datetime
    status: str
    push_name: str | None  # the sender's own, to name the contact by

    @property
    def touches_contact(self) -> bool:
        """Moves the conversation up the list (a reaction does not)."""
        return not self.content.is_reaction

    def columns(self, instance_id: uuid.UUID, contact_id: uuid.UUID) -> dict[str, Any]:
        key = self.data["key"]
        group = self.identity.is_group
        sender_jid = key.get("participantAlt") or key.get("participant") if group else None
        content = self.content
        return dict(
            instance_id=instance_id,
            contact_id=contact_id,
            message_id=self.message_id,
            remote_jid=self.identity.jid,
            from_me=self.from_me,
            message_type=content.message_type,
            text_content=content.text,
            media_url=content.media_url,
            media_mime_type=content.media_mime_type,
            media_size=content.media_size,
            media_filename=content.media_filename,
            media_seconds=content.media_seconds,
            quoted_message_id=content.quoted_message_id,
            status=self.status,
            timestamp=self.timestamp,
            sender_jid=sender_jid if isinstance(sender_jid, str) else None,
            sender_name=self.data.get("pushName") if group and not self.from_me else None,
            metadata=content.metadata or None,
            **media_fetcher.incoming_columns(content),
        )


def read_incoming(data: dict[str, Any]) -> Incoming | None:
    """The message `data` carries; None when it has no id or no usable chat."""
    key = given if isinstance(given := data.get("key"), dict) else {}
    message_id = key.get("id")
    if not isinstance(message_id, str) or not message_id:
        return None
    identity = identity_of(key.get("remoteJid"), key.get("remoteJidAlt"), key.get("senderPn"))
    if identity is None:
        return None
    from_me = bool(key.get("fromMe"))
    status = from_evolution(data.get("status"))
    if from_me:
        # An echo of a send is already on its way to WhatsApp; a webhook never creates a row
        # our outbox would pick up and send a second time.
        status = "sent" if status in (None, "pending") else status
    else:
        status = "read" if status == "read" else "delivered"
    # pushName is the author's name: ours on fromMe messages, a participant's in groups.
    push_name = (
        None if from_me or identity.is_group else usable_name(data.get("pushName"), identity)
    )
    return Incoming(
        data,
        message_id,
        identity,
        from_me,
        parse_content(data),
        message_timestamp(data),
        status,
        push_name,
    )


def _run_of_messages(events: list[tuple[str, Any]], start: int) -> list[Incoming]:
    """The messages.upsert events from `start` on, up to the first other one, that may go
    into a run: one-to-one chats, the only kind `_apply_run` stores together. At most
    MAX_RUN: a run is read again from where it stopped, and it holds the event loop."""
    run: list[Incoming] = []
    for event, data in events[start : start + MAX_RUN]:
        if event != "messages.upsert" or not isinstance(data, dict):
            break
        incoming = read_incoming(data)
        if incoming is None or incoming.identity.is_group:
            break
        run.append(incoming)
    return run


async def _apply_run(runtime: Uses, batch: Batch, run: list[Incoming]) -> list[list[Publication]]:
    """Apply the messages of `run`, or the first ones of it; return what each publishes.

    One statement locks the contacts of the whole run and tells which messages are stored
    already. Then, in order: a new message whose contact is settled and that gets no
    auto-reply joins the group stored together; any other is applied on its own (after the
    group so far), and the run stops before the next message that may name a contact it
    changed, since what was looked up may be stale for that one.
    """
    db = runtime.db
    keys = sorted({key for incoming in run for key in names(incoming.identity)})
    contacts, seen = await ingest_db.lock_for_new(
        db, batch.instance["id"], keys, [incoming.message_id for incoming in run]
    )
    settings = await batch.settings(db)
    now = datetime.now(UTC)
    results: list[list[Publication]] = []
    group: list[tuple[Incoming, Row]] = []
    changed: set[str] = set()
    for incoming in run:
        if changed.intersection(names(incoming.identity)):
            break
        contact = (
            None
            if incoming.message_id in seen
            else settled(
                [c for c in contacts if is_of(c, incoming.identity)],
                incoming.identity,
                incoming.push_name,
            )
        )
        if contact is not None and (
            cycle.changes_contact(
                contact, from_me=incoming.from_me, reaction=not incoming.touches_contact
            )
        ):
            contact = None  # its conversation changes: stored on its own, below
        if contact is not None and (
            not incoming.touches_contact
            or autoreply.reply_text(
                runtime, settings, contact["is_group"], incoming.from_me, incoming.timestamp, now
            )
            is None
        ):
            group.append((incoming, contact))
        else:
            results += await _store_together(runtime, batch, group)
            group = []
            results.append(await apply_event(runtime, batch, "messages.upsert", incoming.data))
            changed.update(names(incoming.identity))
        seen.add(incoming.message_id)
    return results + await _store_together(runtime, batch, group)


async def _store_together(
    runtime: Uses, batch: Batch, group: list[tuple[Incoming, Row]]
) -> list[list[Publication]]:
    """Store new messages of settled contacts with one statement; what each publishes."""
    if not group:
        return []
    instance_id = batch.instance["id"]
    rows = await ingest_db.insert_incoming_many(
        runtime.db,
        instance_id,
        [incoming.columns(instance_id, contact["id"]) for incoming, contact in group],
        [incoming.touches_contact for incoming, _ in group],
    )
    if len(rows) != len(group):  # stored meanwhile by someone else: this attempt is void
        raise RuntimeError("a message of a run was stored meanwhile")
    results = []
    for (incoming, contact), row in zip(group, rows, strict=True):
        published = _created(
            instance_id, row, contact["id"], row["first_seq"], incoming.touches_contact
        )
        results.append(
            published + await _after_insert(runtime, batch, contact, incoming, row, reply=False)
        )
    return results


async def store_message(
    runtime: Uses, batch: Batch, data: dict[str, Any], from_api: bool
) -> list[Publication]:
    db = runtime.db
    instance = batch.instance
    incoming = read_incoming(data)
    if incoming is None:
        key = data.get("key")
        if not isinstance(key, dict) or not isinstance(key.get("id"), str) or not key["id"]:
            log.warning("message without key.id ignored")
        return []
    identity = incoming.identity
    if identity.is_group and await batch.ignore_groups(db):
        return []

    published: list[Publication] = []
    contact = await _contact_for_message(db, instance, identity, incoming.push_name, published)
    if contact is None:
        return published

    message_id = incoming.message_id
    status, media_url = incoming.status, incoming.content.media_url
    if from_api:
        existing = await messages_db.lock_by_message_id(db, instance["id"], message_id)
        if existing is not None:
            return published + await _advance(db, instance, existing, status, media_url)
        if await outbox_db.in_flight_for_contact(db, contact["id"]):
            # Probably the echo of our own send, whose answer (with this id) is not stored
            # yet; storing it now would make a second row for one message.
            raise Postpone()

    # New messages are the common case: the insert comes first, in one statement with the
    # receipt, the contact's last message and the stream events; a redelivery inserts nothing
    # and is then advanced like before.
    row = await ingest_db.insert_incoming(
        db,
        touch_contact=incoming.touches_contact,
        **incoming.columns(instance["id"], contact["id"]),
    )
    if row is None:
        # Already stored. A send's echo was looked up above: this one was stored by a
        # concurrent writer between that look-up and the insert.
        existing = (
            None
            if from_api
            else await messages_db.lock_by_message_id(db, instance["id"], message_id)
        )
        if existing is None:
            return published
        return published + await _advance(db, instance, existing, status, media_url)
    last = row["last_seq"]
    published += _created(
        instance["id"],
        row,
        contact["id"],
        last - 1 if incoming.touches_contact else last,
        incoming.touches_contact,
    )
    return published + await _after_insert(
        runtime, batch, contact, incoming, row, reply=not from_api
    )


async def _after_insert(
    runtime: Uses, batch: Batch, contact: Row, incoming: Incoming, row: Row, reply: bool
) -> list[Publication]:
    """What follows storing a new message: a receipt that arrived before it is applied, its
    inline media kept, and the auto-reply (when `reply`) queued."""
    db = runtime.db
    changes: dict[str, Any] = {}
    if row["receipt_status"]:
        final = next_status(row["status"], row["receipt_status"])
        if final != row["status"]:
            changes["status"] = final
    if row["receipt_deleted"]:
        changes["deleted_at"] = row["created_at"]
    row = await media_fetcher.keep_inline(runtime, row, incoming.data)  # `message.base64`
    if changes:
        row = await messages_db.update_message(db, row["id"], **changes) or row
    published: list[Publication] = []
    if await cycle.after_message(db, contact, row) is not None:
        published.append(
            await events.record(
                db, contact["instance_id"], "contact", "updated", contact["id"], contact["id"]
            )
        )
    if not reply or not incoming.touches_contact:
        return published
    return published + await autoreply.maybe_reply(
        runtime, batch.instance, contact, row, await batch.settings(db)
    )


async def _contact_for_message(
    db: Database,
    instance: Row,
    identity: Identity,
    push_name: str | None,
    published: list[Publication],
) -> Row | None:
    result = await sync_contact(db, instance["id"], identity, push_name=push_name)
    if result is None:
        return None
    if result.created or result.changed:
        published.append(
            await events.record(
                db,
                instance["id"],
                "contact",
                "created" if result.created else "updated",
                result.contact["id"],
                result.contact["id"],
            )
        )
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
    return [
        await events.record(
            db, instance["id"], "message", "updated", message["id"], message["contact_id"]
        )
    ]


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
    return [
        await events.record(
            db, instance["id"], "message", "updated", message["id"], message["contact_id"]
        )
    ]


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
            db,
            instance["id"],
            identity,
            push_name=None if identity.is_group else usable_name(item.get("pushName"), identity),
            picture_url=picture,
            create=identity.phone is not None,
        )
        if result is not None and (result.created or result.changed):
            published.append(
                await events.record(
                    db,
                    instance["id"],
                    "contact",
                    "created" if result.created else "updated",
                    result.contact["id"],
                    result.contact["id"],
                )
            )
    return published
