"""Agents' outgoing messages: validated, stored PENDING, and handed to the outbox.

`sendMessage` never calls Evolution API itself: the row exists before any attempt, so a send is
never lost to a crash, a timeout or a restart, and the outbox worker applies the rate limit.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

import asyncpg

from db import (
    contacts as contacts_db,
    inbox as inbox_db,
    messages as messages_db,
    outbox as outbox_db,
)
from db.sql import Row
from services.automation.quick_messages import render_for_contact
from services.common.instants import whole_second_now
from services.errors import AppError, BadInput, Conflict, NotFound, RateLimited
from services.identity import access
from services.identity.auth import Principal
from services.inbox import cycle
from services.instances.lifecycle import token_of
from services.media import sending as media_sending
from services.media.sending import UploadedFile
from services.messaging.conversations import visible_contact
from services.platform import events
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithMedia,
    WithOutboxWakeup,
    WithPresenceDebounce,
    WithSendLimiter,
    WithSettings,
    WithSpawn,
    WithVault,
)


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithMedia,
    WithSpawn,
    WithOutboxWakeup,
    WithSendLimiter,
    WithPresenceDebounce,
    Protocol,
): ...


log = logging.getLogger("atendimento.sending")

MAX_TEXT = 4096
PRESENCES = ("composing", "recording", "paused")


class ConnectionRequired(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"This number is not connected to WhatsApp (status {status.upper()}); connect it first",
            reason="INSTANCE_NOT_CONNECTED",
            status=status.upper(),
        )


async def send_message(
    runtime: Uses,
    principal: Principal,
    *,
    instance_id: uuid.UUID,
    contact_id: uuid.UUID,
    message_type: str,
    text: str | None = None,
    audio_url: str | None = None,
    audio: UploadedFile | None = None,
    media: UploadedFile | None = None,
    media_url: str | None = None,
    caption: str | None = None,
    file_name: str | None = None,
    quoted_message_id: str | None = None,
    quick_message_shortcut: str | None = None,
    idempotency_key: str | None = None,
) -> Row:
    db = runtime.db
    wait = runtime.send_limiter.take(principal.profile_id)
    if wait:
        raise RateLimited(f"Too many messages; try again in {wait:.1f}s", retry_after=wait)
    instance = await access.visible_instance(db, principal, instance_id)
    contact = await visible_contact(runtime, principal, contact_id)
    if contact["instance_id"] != instance_id:
        raise BadInput("contactId is not a contact of instanceId", field="contactId")
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not 1 <= len(idempotency_key) <= 200:
            raise BadInput("idempotencyKey must have 1 to 200 characters", field="idempotencyKey")
        previous = await _previous(runtime, principal, idempotency_key, contact_id)
        if previous is not None:
            return previous
    if instance["status"] != "connected":
        raise ConnectionRequired(instance["status"])

    values: dict[str, Any] = {}
    outgoing: media_sending.OutgoingMedia | None = None
    if message_type == "text":
        if any(v is not None for v in (audio_url, audio, media, media_url, caption, file_name)):
            raise BadInput(
                "a TEXT message takes no media, caption or fileName", field="messageType"
            )
        if quick_message_shortcut is not None:
            if text is not None:
                raise BadInput(
                    "give textContent or quickMessageShortcut, not both",
                    field="quickMessageShortcut",
                )
            text = await render_for_contact(runtime, principal, quick_message_shortcut, contact)
        body = (text or "").strip()
        if not body:
            raise BadInput("textContent must not be empty", field="textContent")
        if len(body) > MAX_TEXT:
            raise BadInput(
                f"textContent must be at most {MAX_TEXT} characters", field="textContent"
            )
        values["text_content"] = body
    elif message_type in media_sending.MEDIA_MESSAGE_TYPES:
        outgoing = await media_sending.prepare(
            runtime,
            message_type,
            text=text,
            caption=caption,
            media=media,
            media_url=media_url,
            audio=audio,
            audio_url=audio_url,
            file_name=file_name,
        )
        values.update(outgoing.values)
    else:
        raise BadInput(
            "messageType must be TEXT, AUDIO, IMAGE, DOCUMENT or VIDEO", field="messageType"
        )

    if quoted_message_id is not None:
        quoted = await _quoted(db, contact, quoted_message_id)
        values["quoted_message_id"] = quoted["message_id"]

    local_id = uuid.uuid4()
    if outgoing is not None:
        values.update(
            await media_sending.store(runtime, instance_id, local_id, message_type, outgoing)
        )

    try:
        async with db.transaction():
            # The conversation first (as ingestion locks it), for the inbox rules below.
            locked = await inbox_db.lock_contact(db, contact_id)
            row = await messages_db.insert_message(
                db,
                id=local_id,
                instance_id=instance_id,
                contact_id=contact_id,
                message_id=f"local-{local_id}",
                remote_jid=contact["remote_jid"],
                from_me=True,
                message_type=message_type,
                status="pending",
                timestamp=whole_second_now(),
                sent_by=principal.profile_id,
                idempotency_key=idempotency_key,
                **values,
            )
            assert row is not None
            published = [
                await events.record(db, instance_id, "message", "created", row["id"], contact_id)
            ]
            if locked is not None:
                await cycle.after_agent_reply(db, locked, row, principal.profile_id)
            await contacts_db.touch_last_message(db, contact_id, row["id"])
            published.append(
                await events.record(db, instance_id, "contact", "updated", contact_id, contact_id)
            )
    except asyncpg.UniqueViolationError:
        # The same idempotency key raced in from a second request: answer with the first.
        assert idempotency_key is not None
        previous = await _previous(runtime, principal, idempotency_key, contact_id)
        assert previous is not None
        return previous
    await runtime.bus.publish(published)
    runtime.outbox_wakeup.set()
    return row


async def _previous(
    runtime: WithDatabase, principal: Principal, key: str, contact_id: uuid.UUID
) -> Row | None:
    row = await messages_db.by_idempotency_key(runtime.db, principal.profile_id, key)
    if row is not None and row["contact_id"] != contact_id:
        raise Conflict(
            "idempotencyKey was already used for another contact", field="idempotencyKey"
        )
    return row


async def _quoted(db: Any, contact: Row, reference: str) -> Row:
    """The quoted message, by our id or by WhatsApp's, within the same conversation."""
    row = None
    try:
        row = await messages_db.get_message(db, uuid.UUID(reference))
    except ValueError:
        row = await messages_db.lock_by_message_id(db, contact["instance_id"], reference)
    if row is None or row["contact_id"] != contact["id"]:
        raise BadInput(
            "quotedMessageId is not a message of this conversation", field="quotedMessageId"
        )
    return row


async def retry_message(runtime: Uses, principal: Principal, message_pk: uuid.UUID) -> Row:
    message = await messages_db.get_message(runtime.db, message_pk)
    if message is None or not await access.can_access_instance(
        runtime.db, principal, message["instance_id"]
    ):
        raise NotFound("Message not found", id=str(message_pk))
    if not message["from_me"] or message["status"] != "failed":
        raise Conflict(
            "Only a FAILED message we sent can be retried", status=message["status"].upper()
        )
    async with runtime.db.transaction():
        row = await outbox_db.requeue_failed(runtime.db, message_pk)
        if row is None:
            raise Conflict("The message is no longer FAILED")
        published = [
            await events.record(
                runtime.db, row["instance_id"], "message", "updated", row["id"], row["contact_id"]
            )
        ]
    await runtime.bus.publish(published)
    runtime.outbox_wakeup.set()
    return row


async def send_presence(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, presence: str
) -> bool:
    """Typing indicator, debounced per contact: a keystroke storm makes one Evolution call."""
    if presence not in PRESENCES:
        raise BadInput(
            f"presence must be one of {', '.join(p.upper() for p in PRESENCES)}", field="presence"
        )
    contact = await visible_contact(runtime, principal, contact_id)
    if not runtime.presence_debounce.first((contact_id, presence)):
        return True
    instance = await access.visible_instance(runtime.db, principal, contact["instance_id"])
    # Evolution holds the call open for `delay` ms; the agent's request must not wait for it.
    runtime.spawn(_presence_call(runtime, instance, contact, presence))
    return True


async def _presence_call(runtime: Uses, instance: Row, contact: Row, presence: str) -> None:
    try:
        await runtime.evolution.send_presence(
            instance["instance_name"],
            token_of(runtime, instance),
            number=contact["remote_jid"],
            presence=presence,
            delay=int(runtime.presence_debounce.window * 1000),
        )
    except AppError as error:
        log.info("presence not sent: %s", error.message)
