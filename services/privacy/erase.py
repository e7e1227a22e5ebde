"""`eraseContact`: every row and media object of one person goes (LGPD art. 18, VI).

The rows go in one transaction: the contact's messages (its pending sends with them), the raw
webhook bodies that mention it, its stream events, receipts waiting for its messages, and the
contact itself, which takes every table that references it along (ON DELETE CASCADE: read
marks, auto-reply log, and whatever later tables hang off a contact). Its media objects are
queued for deletion in that transaction and deleted right after; one the store refuses is
retried by the cleaner (services/media/cleanup.py). A `privacy_log` row says who, when, why
and how many, without the person's data. A later message from the same number is a new
contact.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import Protocol

from db import privacy as privacy_db
from services.common.text_rules import clean_line
from services.errors import BadInput, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.media import cleanup
from services.messaging.conversations import visible_contact
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase, WithMedia
from services.platform.metrics import PRIVACY_REQUESTS


class Uses(WithDatabase, WithBus, WithMedia, Protocol): ...


log = logging.getLogger("atendimento.privacy")

REASON_MAX_LENGTH = 500


def clean_reason(reason: str) -> str:
    text = clean_line(reason, "reason", REASON_MAX_LENGTH)
    if text is None:
        raise BadInput("reason is required: say why this person's data is erased", field="reason")
    return text


async def erase_contact(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, reason: str
) -> uuid.UUID:
    await visible_contact(runtime, principal, contact_id)
    access.require_admin(principal, "erase a person's data")
    why = clean_reason(reason)
    db = runtime.db
    async with db.transaction():
        contact = await privacy_db.lock_contact(db, contact_id)
        if contact is None:  # erased by someone else meanwhile
            raise NotFound("Contact not found", id=str(contact_id))
        instance_id = contact["instance_id"]
        messages = await privacy_db.delete_contact_messages(db, contact_id)
        keys = cleanup.object_keys(messages)
        await privacy_db.queue_deletions(db, keys)
        receipts = await privacy_db.delete_receipts(
            db, instance_id, [m["message_id"] for m in messages]
        )
        jids = [j for j in (contact["remote_jid"], contact["lid_jid"]) if j]
        raw = await privacy_db.delete_raw_webhooks(db, instance_id, jids)
        stream = await privacy_db.delete_stream_events(db, contact_id)
        await privacy_db.delete_contact(db, contact_id)
        kinds = Counter(m["message_type"] for m in messages)
        counts = {
            "messages": len(messages),
            "media_objects": sum(1 for m in messages if m["media_key"] or m["upload_key"]),
            "webhook_events": raw,
            "stream_events": stream,
            "receipts": receipts,
            **{f"messages_{kind}": n for kind, n in sorted(kinds.items())},
        }
        await privacy_db.log_action(
            db,
            "erase",
            actor_id=principal.profile_id,
            instance_id=instance_id,
            subject_id=contact_id,
            reason=why,
            counts=counts,
        )
        published = [
            await events.record(db, instance_id, "contact", "deleted", contact_id, contact_id)
        ]
    await runtime.bus.publish(published)
    PRIVACY_REQUESTS.labels("erase").inc()
    deleted, failed = await cleanup.purge(runtime, keys)
    log.info(
        "contact %s erased by %s: %s messages, %s media objects, %s raw webhook events; "
        "%s store deletions done, %s queued for retry",
        contact_id,
        principal.profile_id,
        counts["messages"],
        counts["media_objects"],
        raw,
        deleted,
        failed,
    )
    return contact_id
