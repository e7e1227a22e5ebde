from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, fetch_all

CLIENT_COLUMNS = "c.id, c.name, c.phone, c.phone_key, c.email, c.document, c.notes, " \
                 "c.created_by, c.created_at, c.updated_at"


async def find_by_phone_key(db: Database, key: str, limit: int = 2) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.phone_key = :key ORDER BY c.id "
            "LIMIT :limit",
        key=key, limit=limit,
    )


async def get_clients(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.id = ANY(:ids)", ids=ids
    )
