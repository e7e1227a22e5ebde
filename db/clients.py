from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, fetch_all, fetch_one

CLIENT_COLUMNS = (
    "c.id, c.name, c.phone, c.phone_key, c.email, c.document, c.notes, "
    "c.created_by, c.created_at, c.updated_at"
)


async def find_by_phone_key(db: Database, key: str, limit: int = 2) -> list[Row]:
    return await fetch_all(
        db,
        f"SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.phone_key = :key ORDER BY c.id "
        "LIMIT :limit",
        key=key,
        limit=limit,
    )


async def get_clients(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.id = ANY(:ids)", ids=ids
    )


async def search_clients(
    db: Database,
    *,
    name_pattern: str | None,
    digits_pattern: str | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    """Clients by name, keyset on (name, id); a search matches name, phone or document."""
    return await fetch_all(
        db,
        f"""
        SELECT {CLIENT_COLUMNS} FROM clients c
        WHERE (CAST(:name_pattern AS text) IS NULL
               OR c.name ILIKE :name_pattern
               OR c.phone_key LIKE :digits_pattern
               OR regexp_replace(COALESCE(c.document, ''), '\\D', '', 'g') LIKE :digits_pattern
               OR c.document ILIKE :name_pattern)
          AND (CAST(:after_name AS text) IS NULL
               OR (c.name, c.id) > (:after_name, CAST(:after_id AS uuid)))
        ORDER BY c.name, c.id
        LIMIT :limit
        """,
        name_pattern=name_pattern,
        digits_pattern=digits_pattern,
        after_name=after[0] if after else None,
        after_id=after[1] if after else None,
        limit=limit,
    )


async def insert_client(db: Database, **values: object) -> Row:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    row = await fetch_one(
        db,
        f"INSERT INTO clients AS c ({columns}) VALUES ({params}) RETURNING {CLIENT_COLUMNS}",
        **values,
    )
    assert row is not None
    return row


async def get_client(db: Database, client_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {CLIENT_COLUMNS} FROM clients c WHERE c.id = :id", id=client_id
    )
