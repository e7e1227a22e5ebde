"""Presence: a contact typing, recording a voice note, pausing, coming online or going away.

Ephemeral by design. Evolution's `presence.update` webhooks are not written to the event log,
the message tables or the instance's ordered stream: each is turned into a live event at once
and published to the subscribers of its number, on a channel of its own (so `afterSeq` never
replays one). A presence of someone with no contact row is dropped; it creates nothing.

WhatsApp tells a chat's presence only to a session that subscribed to it (Baileys'
`presenceSubscribe`), and Evolution's API subscribes only as part of `POST
/chat/sendPresence` (and of sends with a `delay`). So the typing indicator starts flowing for
a chat once the agent types in it (`sendPresence`), or once a subscriber names the chat it has
open (`presenceEvents(contactId:)`): then the server sends the chat a `paused` presence, which
shows the contact nothing, once per contact every 10 minutes (`Runtime.presence_watch`;
WhatsApp forgets such subscriptions when the session reconnects).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from db import presence as presence_db
from db.sql import Row
from services.errors import AppError, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.instances.lifecycle import token_of
from services.messaging.contacts import identity_of, names
from services.messaging.conversations import visible_contact
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithPresenceWatch,
    WithSettings,
    WithSpawn,
    WithVault,
)
from services.platform.events import Publication


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithSpawn,
    WithPresenceWatch,
    Protocol,
): ...


log = logging.getLogger("atendimento.presence")

PRESENCES = ("composing", "recording", "paused", "available", "unavailable")
EVENT = "presence.update"


def presence_channel(instance_id: uuid.UUID | str) -> str:
    return f"presence:{instance_id}"


@dataclass(frozen=True, slots=True)
class PresenceChange:
    contact_id: uuid.UUID
    presence: str
    """One of PRESENCES."""
    at: datetime
    last_seen: datetime | None


def _decode(payload: dict[str, Any]) -> PresenceChange:
    last_seen = payload.get("last_seen")
    return PresenceChange(
        contact_id=uuid.UUID(payload["contact_id"]),
        presence=payload["presence"],
        at=datetime.fromisoformat(payload["at"]),
        last_seen=datetime.fromisoformat(last_seen) if last_seen else None,
    )


def _read(data: Any) -> tuple[list[str], str, datetime | None] | None:
    """The JIDs naming the person, their presence and last-seen time, from the webhook's
    `data` (`{"id": <chat jid>, "presences": {<jid>: {"lastKnownPresence", "lastSeen"?}}}`);
    None for groups and shapes we do not expect."""
    if not isinstance(data, dict) or not isinstance(data.get("presences"), dict):
        return None
    chat, presences = data.get("id"), data["presences"]
    identity = identity_of(chat)
    if identity is None or identity.is_group:
        return None
    state = presences.get(chat)
    if state is None and len(presences) == 1:
        state = next(iter(presences.values()))
    if not isinstance(state, dict) or state.get("lastKnownPresence") not in PRESENCES:
        return None
    seen = state.get("lastSeen")
    last_seen = (
        datetime.fromtimestamp(seen, UTC)
        if isinstance(seen, int) and not isinstance(seen, bool) and 0 < seen < 2**33
        else None
    )
    return names(identity), state["lastKnownPresence"], last_seen


async def receive(runtime: Uses, instance_id: uuid.UUID, data: Any) -> bool:
    """Publish a `presence.update` to the number's subscribers; False when it was dropped (a
    group, an unknown person, an unexpected shape). Nothing is stored."""
    read = _read(data)
    if read is None:
        return False
    jids, presence, last_seen = read
    contact_id = await presence_db.contact_id_for_jids(runtime.db, instance_id, jids)
    if contact_id is None:
        return False
    payload = {
        "contact_id": str(contact_id),
        "presence": presence,
        "at": datetime.now(UTC).isoformat(),
        "last_seen": last_seen.isoformat() if last_seen else None,
    }
    await runtime.bus.publish([Publication(presence_channel(instance_id), payload)])
    return True


async def presence_changes(
    runtime: Uses,
    principal: Principal,
    instance_id: uuid.UUID,
    contact_id: uuid.UUID | None,
) -> AsyncIterator[PresenceChange]:
    """The number's presence changes as they come, for a principal who may see the number
    (NotFound otherwise, before anything is delivered); membership is checked again as they
    come, and the stream ends when it is gone. With `contact_id`, that chat's only, and its
    presence subscribed to on Evolution."""
    membership = access.MembershipWatch(runtime.db, principal, instance_id)
    instance = await membership.start()
    if contact_id is not None:
        contact = await visible_contact(runtime, principal, contact_id)
        if contact["instance_id"] != instance_id:
            raise NotFound("Contact not found", id=str(contact_id))
        watch_chat(runtime, instance, contact)
    async with runtime.bus.subscribe(presence_channel(instance_id), _decode) as inbox:
        async for change in inbox:
            if contact_id is not None and change.contact_id != contact_id:
                continue
            if not await membership.still_allowed():
                return
            yield change


def watch_chat(runtime: Uses, instance: Row, contact: Row) -> None:
    """Have Evolution subscribe to the chat's presence (at most once per contact per window of
    `Runtime.presence_watch`)."""
    if contact["is_group"] or not runtime.settings.evolution_configured:
        return
    if not runtime.presence_watch.first(contact["id"]):
        return
    runtime.spawn(_subscribe(runtime, instance, contact))


async def _subscribe(runtime: Uses, instance: Row, contact: Row) -> None:
    try:
        # `paused` shows the person nothing; Evolution subscribes to the chat's presence first.
        await runtime.evolution.send_presence(
            instance["instance_name"],
            token_of(runtime, instance),
            number=contact["remote_jid"],
            presence="paused",
            delay=0,
        )
    except AppError as error:
        log.info("presence of a chat not subscribed to: %s", type(error).__name__)
