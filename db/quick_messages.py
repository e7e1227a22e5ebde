from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one, update_returning

COLUMNS = (
    "q.id, q.shortcut, q.message_text, q.description, q.created_by, q.created_at, q.updated_at"
)


async def get_by_shortcut(db: Database, shortcut: str) -> Row | None:
    return await fetch_one(
        db,
        f"SELECT {COLUMNS} FROM whatsapp_quick_messages q WHERE q.shortcut = :shortcut",
        shortcut=shortcut,
    )


async def get(db: Database, quick_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {COLUMNS} FROM whatsapp_quick_messages q WHERE q.id = :id", id=quick_id
    )


async def get_many(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {COLUMNS} FROM whatsapp_quick_messages q WHERE q.id = ANY(:ids)", ids=ids
    )


async def search(
    db: Database, prefix: str | None, text_pattern: str | None, limit: int
) -> list[Row]:
    """Shortcut prefix matches first (the `/` autocomplete), then matches in the text."""
    return await fetch_all(
        db,
        f"""
        SELECT {COLUMNS} FROM whatsapp_quick_messages q
        WHERE CAST(:prefix AS text) IS NULL
           OR q.shortcut LIKE :prefix || '%'
           OR q.message_text ILIKE :text_pattern OR q.description ILIKE :text_pattern
        ORDER BY (CAST(:prefix AS text) IS NOT NULL AND q.shortcut LIKE :prefix || '%') DESC,
                 q.shortcut
        LIMIT :limit
        """,
        prefix=prefix,
        text_pattern=text_pattern,
        limit=limit,
    )


async def insert(
    db: Database, shortcut: str, message_text: str, description: str | None, created_by: uuid.UUID
) -> Row | None:
    """None when the shortcut is taken."""
    return await fetch_one(
        db,
        f"""
        INSERT INTO whatsapp_quick_messages AS q (shortcut, message_text, description, created_by)
        VALUES (:shortcut, :message_text, :description, :created_by)
        ON CONFLICT (shortcut) DO NOTHING
        RETURNING {COLUMNS}
        """,
        shortcut=shortcut,
        message_text=message_text,
        description=description,
        created_by=created_by,
    )


async def update(db: Database, quick_id: uuid.UUID, **changes: object) -> Row | None:
    return await update_returning(
        db,
        "whatsapp_quick_messages q",
        changes,
        where="q.id = :quick_id",
        returning=COLUMNS,
        quick_id=quick_id,
    )


async def delete(db: Database, quick_id: uuid.UUID) -> bool:
    status = await execute(db, "DELETE FROM whatsapp_quick_messages WHERE id = :id", id=quick_id)
    return status.endswith(" 1")
