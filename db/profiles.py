from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, fetch_all, fetch_one


async def upsert_profile(
    db: Database, profile_id: uuid.UUID, role: str, email: str | None, full_name: str | None
) -> Row:
    """Create the profile of a token's subject on first sight; keep role and contact data fresh."""
    row = await fetch_one(
        db,
        """
        INSERT INTO profiles (id, role, email, full_name)
        VALUES (:id, :role, :email, :full_name)
        ON CONFLICT (id) DO UPDATE SET
          role = EXCLUDED.role,
          email = COALESCE(EXCLUDED.email, profiles.email),
          full_name = COALESCE(EXCLUDED.full_name, profiles.full_name),
          updated_at = NOW()
        WHERE profiles.role IS DISTINCT FROM EXCLUDED.role
           OR (EXCLUDED.email IS NOT NULL AND profiles.email IS DISTINCT FROM EXCLUDED.email)
           OR (EXCLUDED.full_name IS NOT NULL
               AND profiles.full_name IS DISTINCT FROM EXCLUDED.full_name)
        RETURNING *
        """,
        id=profile_id,
        role=role,
        email=email,
        full_name=full_name,
    )
    if row is None:  # nothing changed: the WHERE skipped the update, so the profile exists
        row = await get_profile(db, profile_id)
        assert row is not None
    return row


async def get_profile(db: Database, profile_id: uuid.UUID) -> Row | None:
    return await fetch_one(db, "SELECT * FROM profiles WHERE id = :id", id=profile_id)


async def get_profiles(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(db, "SELECT * FROM profiles WHERE id = ANY(:ids)", ids=ids)
