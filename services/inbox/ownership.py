"""Assigning conversations and moving their status, and who can be assigned.

Rules a team lead expects at a customer-service desk:
- Only members of the number can be assigned.
- Admins assign anyone (a member) and unassign anyone, and change any status.
- Agents take an unassigned conversation (assign it to themselves) and release their own
  (unassign themselves); they cannot assign a colleague, nor take over or release a
  conversation a colleague owns (FORBIDDEN: ask the colleague or an admin).
- Agents change the status of unassigned conversations and of their own, not of a colleague's.
- Anyone who sees the number may reply, add notes and set labels on any of its conversations.

Each change locks the contact row, so two agents taking one conversation at once leave exactly
one owner; the other is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from db import contacts as contacts_db, inbox as inbox_db, instances as instances_db
from db.sql import Row
from services.errors import BadInput, Forbidden, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.inbox.cycle import STATUSES, open_cycle
from services.messaging.conversations import visible_contact
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase


class Uses(WithDatabase, WithBus, Protocol): ...


def _owned_by_colleague(principal: Principal, contact: Row) -> bool:
    owner = contact["assignee_id"]
    return not principal.is_admin and owner is not None and owner != principal.profile_id


async def _locked(runtime: WithDatabase, contact_id: uuid.UUID) -> Row:
    contact = await inbox_db.lock_contact(runtime.db, contact_id)
    if contact is None:
        raise NotFound("Contact not found", id=str(contact_id))
    return contact


async def assign_contact(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, profile_id: uuid.UUID | None
) -> Row:
    """Assign the conversation to `profile_id` (None unassigns); see the module's rules."""
    db = runtime.db
    await visible_contact(runtime, principal, contact_id)
    if not principal.is_admin and profile_id not in (None, principal.profile_id):
        raise Forbidden(
            "Agents can assign conversations only to themselves; an administrator assigns "
            "colleagues"
        )
    async with db.transaction():
        contact = await _locked(runtime, contact_id)
        if profile_id is not None and not await instances_db.is_member(
            db, contact["instance_id"], profile_id
        ):
            raise BadInput("profileId is not a member of this number", field="profileId")
        if _owned_by_colleague(principal, contact):
            raise Forbidden(
                "This conversation is assigned to a colleague; they or an administrator can "
                "release it",
                assigneeId=str(contact["assignee_id"]),
            )
        if contact["assignee_id"] == profile_id:
            return contact
        row = await contacts_db.update_contact(db, contact_id, assignee_id=profile_id)
        assert row is not None
        await inbox_db.log_change(
            db,
            instance_id=row["instance_id"],
            contact_id=contact_id,
            kind="assigned",
            status=row["conversation_status"],
            assignee_id=profile_id,
            actor_id=principal.profile_id,
        )
        published = [
            await events.record(
                db, row["instance_id"], "contact", "updated", contact_id, contact_id
            )
        ]
    await runtime.bus.publish(published)
    return row


async def set_contact_status(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, status: str
) -> Row:
    """OPEN, PENDING or RESOLVED. Reopening a RESOLVED conversation starts a new cycle (its
    first response and resolution are measured anew)."""
    if status not in STATUSES:
        raise BadInput("status is not a conversation status", field="status")
    db = runtime.db
    await visible_contact(runtime, principal, contact_id)
    async with db.transaction():
        contact = await _locked(runtime, contact_id)
        if _owned_by_colleague(principal, contact):
            raise Forbidden(
                "This conversation is assigned to a colleague; they or an administrator can "
                "change its status",
                assigneeId=str(contact["assignee_id"]),
            )
        current = contact["conversation_status"]
        if current == status:
            return contact
        now = datetime.now(UTC)
        row: Row | None
        if current == "resolved":
            row = await open_cycle(db, contact, actor_id=principal.profile_id)
            if row is not None and status != "open":
                row = await _set_status(runtime, principal, row, status, now)
        else:
            row = await _set_status(runtime, principal, contact, status, now)
        assert row is not None
        published = [
            await events.record(
                db, row["instance_id"], "contact", "updated", contact_id, contact_id
            )
        ]
    await runtime.bus.publish(published)
    return row


async def _set_status(
    runtime: WithDatabase, principal: Principal, contact: Row, status: str, now: datetime
) -> Row | None:
    changes: dict[str, Any] = {"conversation_status": status}
    if status == "resolved":
        changes["resolved_at"] = now
    row = await contacts_db.update_contact(runtime.db, contact["id"], **changes)
    await inbox_db.log_change(
        runtime.db,
        instance_id=contact["instance_id"],
        contact_id=contact["id"],
        kind="status",
        status=status,
        assignee_id=contact["assignee_id"],
        actor_id=principal.profile_id,
    )
    return row


async def assignable_profiles(
    runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID | None
) -> list[Row]:
    """Who can be assigned: the members of `instance_id`; without it, the members of every
    number the viewer sees (admins: every profile)."""
    db = runtime.db
    if instance_id is not None:
        await access.visible_instance(db, principal, instance_id)
        return await inbox_db.assignable_profiles(db, [instance_id])
    if principal.is_admin:
        return await inbox_db.assignable_profiles(db, None)
    return await inbox_db.assignable_profiles(
        db, await inbox_db.member_instance_ids(db, principal.profile_id)
    )
