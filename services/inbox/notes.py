"""Internal notes: messages of type NOTE in a conversation, for the team only.

A note is stored as a message (`from_me`, `sent_by` its author, status SENT so the outbox,
which sends PENDING messages, never picks it up) and announced on the message stream. It never
reaches WhatsApp, is never unread (only incoming messages are), does not move the conversation
up the list nor become its `lastMessage`, and is neither a reply (first response) nor a reason
to assign the conversation.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from db import messages as messages_db
from db.sql import Row
from services.common.instants import whole_second_now
from services.common.text_rules import clean_block
from services.errors import BadInput
from services.identity.auth import Principal
from services.messaging.conversations import visible_contact
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase


class Uses(WithDatabase, WithBus, Protocol): ...


MAX_NOTE = 4096


async def add_note(runtime: Uses, principal: Principal, contact_id: uuid.UUID, text: str) -> Row:
    contact = await visible_contact(runtime, principal, contact_id)
    body = clean_block(text, "text", MAX_NOTE)
    if not body:
        raise BadInput("text must not be empty", field="text")
    db = runtime.db
    note_id = uuid.uuid4()
    async with db.transaction():
        row = await messages_db.insert_message(
            db,
            id=note_id,
            instance_id=contact["instance_id"],
            contact_id=contact_id,
            message_id=f"note-{note_id}",
            remote_jid=contact["remote_jid"],
            from_me=True,
            message_type="note",
            text_content=body,
            status="sent",
            timestamp=whole_second_now(),
            sent_by=principal.profile_id,
        )
        assert row is not None
        published = [
            await events.record(
                db, contact["instance_id"], "message", "created", row["id"], contact_id
            )
        ]
    await runtime.bus.publish(published)
    return row
