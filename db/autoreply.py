from __future__ import annotations

import uuid
from datetime import datetime

from databases import Database

from db.sql import fetch_val


async def last_sent_at(db: Database, contact_id: uuid.UUID) -> datetime | None:
    return await fetch_val(  # type: ignore[no-any-return]
        db,
        "SELECT max(sent_at) FROM whatsapp_auto_reply_log WHERE contact_id = :id",
        id=contact_id,
    )


async def log_reply(
    db: Database,
    instance_id: uuid.UUID,
    contact_id: uuid.UUID,
    text: str,
    incoming_id: uuid.UUID,
    reply_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Log the reply and queue it as a PENDING message, in one statement; False (and nothing
    written) when this incoming message was already answered."""
    inserted = await fetch_val(
        db,
        """
        WITH logged AS (
          INSERT INTO whatsapp_auto_reply_log (instance_id, contact_id, message_sent, sent_at,
                                               incoming_message_id, outgoing_message_id)
          VALUES (:instance_id, :contact_id, :text, :now, :incoming_id, :reply_id)
          ON CONFLICT (incoming_message_id) WHERE incoming_message_id IS NOT NULL DO NOTHING
          RETURNING id
        )
        INSERT INTO whatsapp_messages (id, instance_id, contact_id, message_id, remote_jid,
                                       from_me, message_type, text_content, status, timestamp,
                                       metadata)
        SELECT :reply_id, :instance_id, :contact_id, 'local-' || CAST(:reply_id AS text),
               c.remote_jid, true, 'text', :text, 'pending', :now, '{"kind": "auto_reply"}'
        FROM logged, whatsapp_contacts c WHERE c.id = :contact_id
        RETURNING id
        """,
        instance_id=instance_id,
        contact_id=contact_id,
        text=text,
        now=now,
        incoming_id=incoming_id,
        reply_id=reply_id,
    )
    return inserted is not None
