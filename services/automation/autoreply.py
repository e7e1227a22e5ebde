"""The answer outside business hours (the seed's `shouldSendAutoReply` / `sendAutoReply`).

Runs inside the transaction that stores the incoming message, so the reply exists exactly
when the message does: a redelivered webhook or a second replica finds the message already
stored and never gets here, and the log's unique index on the incoming message is the last
guard. The reply itself is an ordinary PENDING message for the outbox, so it is rate limited,
retried and visible like an agent's.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from databases import Database

from db import (
    autoreply as autoreply_db,
    clients as clients_db,
    contacts as contacts_db,
)
from db.sql import Row
from services.automation.availability import (
    get_next_available_time,
    is_within_availability,
    parse_schedule,
)
from services.automation.variables import render_template, template_values
from services.platform import events
from services.platform.capabilities import WithDatabase, WithOutboxWakeup, WithSettings
from services.platform.events import Publication


class Uses(WithDatabase, WithSettings, WithOutboxWakeup, Protocol): ...


log = logging.getLogger("atendimento.autoreply")

# Offline catch-up: Evolution can deliver a backlog after a reconnection; answering messages
# that are hours old would look broken, so only fresh messages get the auto-reply.
MAX_MESSAGE_AGE = timedelta(minutes=15)


def zone(settings: Row, default: str) -> ZoneInfo:
    return ZoneInfo(settings["timezone"] or default)


def availability(settings: Row, default_tz: str, now: datetime) -> tuple[bool, datetime | None]:
    schedule = parse_schedule(settings["availability_schedule"] or {})
    tz = zone(settings, default_tz)
    return is_within_availability(schedule, now, tz), get_next_available_time(schedule, now, tz)


async def maybe_reply(
    runtime: Uses, instance: Row, contact: Row, incoming: Row, settings: Row | None
) -> list[Publication]:
    """Queue the auto-reply to `incoming` if every rule allows it; never raises.

    `settings` are the instance's, read by the caller (once per processor batch): the rules
    that need nothing else are checked first, so the usual "no reply" costs no round trip.
    """
    now = datetime.now(UTC)
    try:
        text = reply_text(
            runtime, settings, contact["is_group"], incoming["from_me"], incoming["timestamp"], now
        )
        if text is None or settings is None:
            return []
        db = runtime.db
        async with db.transaction():  # a savepoint: a bug here must not lose the message
            return await _reply(runtime, db, instance, contact, incoming, settings, text, now)
    except Exception:
        log.exception("auto-reply skipped for message %s", incoming["id"])
        return []


def reply_text(
    runtime: WithSettings,
    settings: Row | None,
    is_group: bool,
    from_me: bool,
    timestamp: datetime,
    now: datetime,
) -> str | None:
    """The reply's template when the instance would answer a message sent at `timestamp` now,
    as far as its settings tell (the cooldown is checked when replying); else None."""
    if from_me or is_group:
        return None
    if now - timestamp > MAX_MESSAGE_AGE:
        return None
    if settings is None or not settings["auto_reply_enabled"]:
        return None
    text = (settings["auto_reply_message"] or "").strip()
    if not text or not settings["availability_schedule"]:
        return None  # no schedule configured: always "open", never an accidental reply
    available, _ = availability(settings, runtime.settings.business_timezone, now)
    return None if available else text


async def _reply(
    runtime: Uses,
    db: Database,
    instance: Row,
    contact: Row,
    incoming: Row,
    settings: Row,
    text: str,
    now: datetime,
) -> list[Publication]:
    cooldown = timedelta(minutes=settings["auto_reply_cooldown_minutes"])
    last = await autoreply_db.last_sent_at(db, contact["id"])
    if last is not None and now - last < cooldown:
        return []

    client = await _client_name(db, contact)
    body = render_template(
        text,
        template_values(
            client_name=client,
            contact_name=contact["name"],
            phone_digits=contact["phone_number"] or None,
            agent_name=None,
            now=now,
            tz=zone(settings, runtime.settings.business_timezone),
        ),
    )
    reply_id = uuid.uuid4()
    if not await autoreply_db.log_reply(
        db, instance["id"], contact["id"], body, incoming["id"], reply_id, now
    ):
        return []  # already answered (the unique index on the incoming message)
    published = [
        await events.record(db, instance["id"], "message", "created", reply_id, contact["id"])
    ]
    await contacts_db.touch_last_message(db, contact["id"], reply_id)
    runtime.outbox_wakeup.set()
    return published


async def _client_name(db: Database, contact: Row) -> str | None:
    if contact["client_id"] is None:
        return None
    client = await clients_db.get_client(db, contact["client_id"])
    return client["name"] if client else None
