"""What storing a message does to its conversation.

A conversation's current cycle starts with the first incoming message after the contact was
created or resolved (`opened_at`): an incoming message reopens a RESOLVED conversation.
`first_response_at` is the first reply of a person in that cycle: an agent's message sent here
or a message typed on the phone itself; auto-replies, reactions and notes are not replies. An
agent's reply to an unassigned conversation assigns it to that agent, when they are a member
of the number (only members can be assigned).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from databases import Database

from db import contacts as contacts_db, inbox as inbox_db, instances as instances_db
from db.sql import Row

# A stored row, or the same columns as a mapping.
RowLike = dict[str, Any]

STATUSES = ("open", "pending", "resolved")


def _kind(message: Row | RowLike) -> str | None:
    metadata = message["metadata"]
    kind = metadata.get("kind") if isinstance(metadata, dict) else None
    return kind if isinstance(kind, str) else None


def is_reply(message: Row | RowLike) -> bool:
    """Ours, and an answer a person gave the customer (not a note, auto-reply or reaction)."""
    return (
        bool(message["from_me"])
        and message["message_type"] != "note"
        and message["status"] != "failed"
        and _kind(message) not in ("auto_reply", "reaction")
    )


def cycle_active(contact: Row | RowLike) -> bool:
    return contact["opened_at"] is not None and contact["conversation_status"] != "resolved"


def changes_contact(contact: Row | RowLike, *, from_me: bool, reaction: bool) -> bool:
    """Whether a new message from WhatsApp (`from_me`: typed on the phone) would change the
    conversation: callers that store messages in bulk take such ones one by one."""
    if reaction:
        return False
    if not from_me:
        return not cycle_active(contact)
    return cycle_active(contact) and contact["first_response_at"] is None


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


async def after_message(db: Database, contact: Row, message: Row) -> Row | None:
    """Apply the rules for a message just stored from WhatsApp, in the caller's transaction
    (the contact locked); the changed contact, or None when nothing changed."""
    if message["message_type"] == "note" or _kind(message) == "reaction":
        return None
    if not message["from_me"]:
        if cycle_active(contact):
            return None
        return await open_cycle(db, contact, actor_id=None)
    if is_reply(message) and cycle_active(contact) and contact["first_response_at"] is None:
        return await contacts_db.update_contact(
            db,
            contact["id"],
            first_response_at=_latest(message["timestamp"], contact["opened_at"]),
        )
    return None


async def after_agent_reply(
    db: Database, contact: Row, message: Row, agent_id: uuid.UUID
) -> Row | None:
    """The same for a message an agent sends through this server, plus assigning an
    unassigned conversation to them; in the caller's transaction, the contact locked."""
    changes: dict[str, Any] = {}
    if contact["assignee_id"] is None and await instances_db.is_member(
        db, contact["instance_id"], agent_id
    ):
        changes["assignee_id"] = agent_id
    if cycle_active(contact) and contact["first_response_at"] is None:
        changes["first_response_at"] = _latest(message["timestamp"], contact["opened_at"])
    if not changes:
        return None
    row = await contacts_db.update_contact(db, contact["id"], **changes)
    if "assignee_id" in changes:
        await inbox_db.log_change(
            db,
            instance_id=contact["instance_id"],
            contact_id=contact["id"],
            kind="assigned",
            status=contact["conversation_status"],
            assignee_id=agent_id,
            actor_id=agent_id,
        )
    return row


async def open_cycle(db: Database, contact: Row, actor_id: uuid.UUID | None) -> Row | None:
    """Start a new cycle now (the transaction's time, that of the message that opens it):
    OPEN, not yet answered, not resolved; logged as an opening."""
    row = await inbox_db.open_cycle(db, contact["id"])
    await inbox_db.log_change(
        db,
        instance_id=contact["instance_id"],
        contact_id=contact["id"],
        kind="opened",
        status="open",
        assignee_id=contact["assignee_id"],
        actor_id=actor_id,
    )
    return row
