"""Blue ticks: when an instance's `read_messages` setting is on, an agent reading a chat also
marks its messages read on WhatsApp. Never a side effect otherwise, and never a reason for the
agent's own read mark to fail."""

from __future__ import annotations

import logging
from typing import Protocol

from db import instances as instances_db, messages as messages_db
from db.sql import Row
from services.errors import AppError
from services.instances.lifecycle import token_of
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase, WithEvolution, WithVault


class Uses(WithDatabase, WithBus, WithEvolution, WithVault, Protocol): ...


log = logging.getLogger("atendimento.read_receipts")

BATCH = 50


async def send_read_receipts(runtime: Uses, contact: Row) -> int:
    """Mark the contact's unread incoming messages read on WhatsApp; return how many."""
    db = runtime.db
    settings = await instances_db.get_settings(db, contact["instance_id"])
    if settings is None or not settings["read_messages"]:
        return 0
    instance = await instances_db.get_instance(db, contact["instance_id"])
    if instance is None:
        return 0
    total = 0
    while True:
        rows = await messages_db.unread_on_whatsapp(db, contact["id"], BATCH)
        # Evolution silently skips @lid keys (CONTRACT §4.1): only phone and group chats count.
        keys = [
            {"remoteJid": r["remote_jid"], "fromMe": False, "id": r["message_id"]}
            for r in rows
            if not r["remote_jid"].endswith("@lid")
        ]
        if not rows:
            return total
        if keys:
            try:
                await runtime.evolution.mark_messages_read(
                    instance["instance_name"], token_of(runtime, instance), keys
                )
            except AppError as error:
                log.warning(
                    "read receipts not sent for contact %s: %s", contact["id"], error.message
                )
                return total
        async with db.transaction():
            updated = await messages_db.mark_status(db, [r["id"] for r in rows], "read")
            published = [
                await events.record(
                    db, r["instance_id"], "message", "updated", r["id"], r["contact_id"]
                )
                for r in updated
            ]
        await runtime.bus.publish(published)
        total += len(keys)
        if len(rows) < BATCH:
            return total
