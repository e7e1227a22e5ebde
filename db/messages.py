from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one, update_returning

MESSAGE_COLUMNS = """
  m.id, m.instance_id, m.contact_id, m.message_id, m.remote_jid, m.from_me, m.message_type,
  m.text_content, m.media_url, m.media_mime_type, m.media_size, m.media_filename,
  m.media_seconds, m.quoted_message_id, m.status, m.timestamp, m.created_at, m.updated_at,
  m.sender_jid, m.sender_name, m.metadata, m.deleted_at, m.error, m.attempts, m.sent_by,
  m.idempotency_key, m.media_state, m.media_key, m.media_sha256, m.media_error,
  m.media_source_url, m.media_attempts, m.arrival
"""


async def insert_message(db: Database, **values: Any) -> Row | None:
    """Insert a message; None when (instance_id, message_id) is already stored."""
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return await fetch_one(
        db,
        f"""
        INSERT INTO whatsapp_messages AS m ({columns}) VALUES ({params})
        ON CONFLICT (instance_id, message_id) DO NOTHING
        RETURNING {MESSAGE_COLUMNS}
        """,
        **values,
    )


async def lock_by_message_id(db: Database, instance_id: uuid.UUID, message_id: str) -> Row | None:
    return await fetch_one(
        db,
        f"""
        SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m
        WHERE m.instance_id = :instance_id AND m.message_id = :message_id
        FOR UPDATE
        """,
        instance_id=instance_id,
        message_id=message_id,
    )


async def update_message(db: Database, message_pk: uuid.UUID, **changes: Any) -> Row | None:
    return await update_returning(
        db,
        "whatsapp_messages m",
        changes,
        where="m.id = :message_pk",
        returning=MESSAGE_COLUMNS,
        message_pk=message_pk,
    )


async def get_message(db: Database, message_pk: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m WHERE m.id = :id", id=message_pk
    )


async def get_messages(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m WHERE m.id = ANY(:ids)", ids=ids
    )


async def messages_by_whatsapp_id(db: Database, keys: list[tuple[uuid.UUID, str]]) -> list[Row]:
    """Messages by (contact, WhatsApp id), through the (instance_id, message_id) key."""
    return await fetch_all(
        db,
        f"""
        SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m
        JOIN unnest(CAST(:contacts AS uuid[]), CAST(:ids AS text[])) k(contact_id, message_id)
          ON m.contact_id = k.contact_id AND m.message_id = k.message_id
        JOIN whatsapp_contacts c ON c.id = k.contact_id AND m.instance_id = c.instance_id
        """,
        contacts=[contact for contact, _ in keys],
        ids=[message_id for _, message_id in keys],
    )


@lru_cache(maxsize=16)
def page_sql(*, after: bool, before: bool, backward: bool) -> str:
    """A contact's page statement of one shape: only the bounds given, read from the end the
    page is cut from. Both directions walk idx_whatsapp_messages_contact_page (backward
    scans it in reverse); no shape sorts the conversation."""
    where = ["m.contact_id = :contact_id"]
    if after:
        where.append("(m.timestamp, m.arrival) < (:after_ts, :after_arrival)")
    if before:
        where.append("(m.timestamp, m.arrival) > (:before_ts, :before_arrival)")
    order = "ASC" if backward else "DESC"
    return f"""
        SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m
        WHERE {" AND ".join(where)}
        ORDER BY m.timestamp {order}, m.arrival {order}
        LIMIT :limit
        """


async def page_for_contact(
    db: Database,
    contact_id: uuid.UUID,
    *,
    after: tuple[datetime, int] | None,
    before: tuple[datetime, int] | None,
    limit: int,
    backward: bool = False,
) -> list[Row]:
    """Newest first, keyset on (timestamp, arrival): WhatsApp's whole seconds, ties in the
    order the messages reached us; stable while new messages arrive. `after` and `before`
    are positions in that order; `backward` takes the `limit` rows nearest `before` (the
    oldest of the list without it), still answered newest first."""
    params: dict[str, Any] = {"contact_id": contact_id, "limit": limit}
    if after is not None:
        params["after_ts"], params["after_arrival"] = after
    if before is not None:
        params["before_ts"], params["before_arrival"] = before
    sql = page_sql(after=after is not None, before=before is not None, backward=backward)
    rows = await fetch_all(db, sql, **params)
    return rows[::-1] if backward else rows


async def last_messages(db: Database, contact_ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db,
        f"""
        SELECT {MESSAGE_COLUMNS} FROM unnest(CAST(:ids AS uuid[])) AS k(id)
        CROSS JOIN LATERAL (
          SELECT * FROM whatsapp_messages m
          WHERE m.contact_id = k.id AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'
            AND m.message_type <> 'note'
          ORDER BY m.timestamp DESC, m.arrival DESC LIMIT 1
        ) m
        """,
        ids=contact_ids,
    )


async def take_receipt(db: Database, instance_id: uuid.UUID, message_id: str) -> Row | None:
    """A receipt that arrived before its message, removed as it is applied."""
    return await fetch_one(
        db,
        "DELETE FROM whatsapp_message_receipts WHERE instance_id = :instance_id "
        "AND message_id = :message_id RETURNING status, deleted",
        instance_id=instance_id,
        message_id=message_id,
    )


async def save_receipt(
    db: Database, instance_id: uuid.UUID, message_id: str, status: str | None, deleted: bool
) -> None:
    await execute(
        db,
        """
        INSERT INTO whatsapp_message_receipts (instance_id, message_id, status, deleted)
        VALUES (:instance_id, :message_id, :status, :deleted)
        ON CONFLICT (instance_id, message_id) DO UPDATE SET
          status = COALESCE(EXCLUDED.status, whatsapp_message_receipts.status),
          deleted = whatsapp_message_receipts.deleted OR EXCLUDED.deleted
        """,
        instance_id=instance_id,
        message_id=message_id,
        status=status,
        deleted=deleted,
    )


async def get_receipt(db: Database, instance_id: uuid.UUID, message_id: str) -> Row | None:
    return await fetch_one(
        db,
        "SELECT status, deleted FROM whatsapp_message_receipts WHERE instance_id = :instance_id "
        "AND message_id = :message_id FOR UPDATE",
        instance_id=instance_id,
        message_id=message_id,
    )


async def by_idempotency_key(db: Database, sent_by: uuid.UUID, key: str) -> Row | None:
    return await fetch_one(
        db,
        f"SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m "
        "WHERE m.sent_by = :sent_by AND m.idempotency_key = :key",
        sent_by=sent_by,
        key=key,
    )


async def unread_on_whatsapp(db: Database, contact_id: uuid.UUID, limit: int) -> list[Row]:
    """Incoming messages not yet marked read on WhatsApp itself (blue ticks not sent)."""
    return await fetch_all(
        db,
        f"""
        SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m
        WHERE m.contact_id = :contact_id AND NOT m.from_me AND m.status = 'delivered'
          AND m.deleted_at IS NULL
        ORDER BY m.timestamp DESC, m.arrival DESC LIMIT :limit
        """,
        contact_id=contact_id,
        limit=limit,
    )


async def mark_status(db: Database, ids: list[uuid.UUID], status: str) -> list[Row]:
    return await fetch_all(
        db,
        f"UPDATE whatsapp_messages m SET status = :status, updated_at = NOW() "
        f"WHERE m.id = ANY(:ids) RETURNING {MESSAGE_COLUMNS}",
        ids=ids,
        status=status,
    )
