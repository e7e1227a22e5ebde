"""A conversation's ownership and status (columns of `whatsapp_contacts`) and the log of its
openings, status changes and assignments (`whatsapp_conversation_log`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from databases import Database

from db.contacts import CONTACT_COLUMNS
from db.sql import Row, execute, fetch_all, fetch_one


async def lock_contact(db: Database, contact_id: uuid.UUID) -> Row | None:
    """The contact, locked until the caller's transaction ends: concurrent assignments and
    status changes of one conversation run one after the other and see each other."""
    return await fetch_one(
        db,
        f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = :id FOR UPDATE",
        id=contact_id,
    )


async def open_cycle(db: Database, contact_id: uuid.UUID) -> Row | None:
    """A new cycle starts now: OPEN, not yet answered, not resolved. `NOW()` is the time of the
    transaction, so the message stored with it (`created_at`) and the log row (`at`) carry
    the same instant: reports find a cycle's messages by when they were stored, not by
    WhatsApp's times, which have whole seconds and come from the phone's clock."""
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_contacts c SET conversation_status = 'open', opened_at = NOW(),
          first_response_at = NULL, resolved_at = NULL, updated_at = NOW()
        WHERE c.id = :id RETURNING {CONTACT_COLUMNS}
        """,
        id=contact_id,
    )


async def log_change(
    db: Database,
    *,
    instance_id: uuid.UUID,
    contact_id: uuid.UUID,
    kind: str,
    status: str,
    assignee_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    at: datetime | None = None,
) -> None:
    await execute(
        db,
        """
        INSERT INTO whatsapp_conversation_log
          (instance_id, contact_id, at, kind, status, assignee_id, actor_id)
        VALUES (:instance_id, :contact_id, COALESCE(CAST(:at AS timestamptz), NOW()), :kind,
                :status, :assignee_id, :actor_id)
        """,
        instance_id=instance_id,
        contact_id=contact_id,
        at=at,
        kind=kind,
        status=status,
        assignee_id=assignee_id,
        actor_id=actor_id,
    )


async def assignable_profiles(db: Database, instance_ids: list[uuid.UUID] | None) -> list[Row]:
    """Profiles who are members of any of `instance_ids` (None: every profile), by name."""
    return await fetch_all(
        db,
        """
        SELECT p.* FROM profiles p
        WHERE CAST(:ids AS uuid[]) IS NULL OR EXISTS (
          SELECT 1 FROM whatsapp_instance_members m
          WHERE m.profile_id = p.id AND m.instance_id = ANY(:ids))
        ORDER BY p.full_name NULLS LAST, p.email NULLS LAST, p.id
        """,
        ids=instance_ids,
    )


async def member_instance_ids(db: Database, profile_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await fetch_all(
        db,
        "SELECT instance_id FROM whatsapp_instance_members WHERE profile_id = :profile_id",
        profile_id=profile_id,
    )
    return [r["instance_id"] for r in rows]
