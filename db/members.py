from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one


async def list_members(db: Database, instance_ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT m.instance_id, m.added_at, m.added_by, p.id, p.full_name, p.email, p.role,
               p.created_at
        FROM whatsapp_instance_members m JOIN profiles p ON p.id = m.profile_id
        WHERE m.instance_id = ANY(:ids) ORDER BY m.added_at, p.id
        """,
        ids=instance_ids,
    )


async def add_member(
    db: Database, instance_id: uuid.UUID, profile_id: uuid.UUID, added_by: uuid.UUID
) -> Row | None:
    return await fetch_one(
        db,
        """
        INSERT INTO whatsapp_instance_members (instance_id, profile_id, added_by)
        VALUES (:instance_id, :profile_id, :added_by)
        ON CONFLICT (instance_id, profile_id) DO NOTHING RETURNING instance_id
        """,
        instance_id=instance_id,
        profile_id=profile_id,
        added_by=added_by,
    )


async def remove_member(db: Database, instance_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    status = await execute(
        db,
        "DELETE FROM whatsapp_instance_members WHERE instance_id = :instance_id "
        "AND profile_id = :profile_id",
        instance_id=instance_id,
        profile_id=profile_id,
    )
    return status.endswith(" 1")
