"""Media of messages: the background fetch queue (`media_state = 'pending'`) and its outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime

from databases import Database

from db.messages import MESSAGE_COLUMNS
from db.sql import Row, fetch_all, fetch_one, fetch_val


async def claim_pending(
    db: Database, limit: int, lease_seconds: float, worker: int | None = None
) -> list[Row]:
    """Claim up to `limit` due messages whose media is to be fetched, for `worker` and
    `lease_seconds`.

    SKIP LOCKED lets several workers and replicas share the queue; a claim whose worker died
    (its worker lock gone) is free at once, one without a worker id when its lease runs out.
    A message we are still sending (a local id, no copy of Evolution's yet) waits until
    WhatsApp has it.
    """
    return await fetch_all(
        db,
        f"""
        WITH due AS (
          SELECT id FROM whatsapp_messages
          WHERE media_state = 'pending'
            AND COALESCE(media_next_attempt_at, '-infinity') <= NOW()
            AND (COALESCE(media_claimed_until, '-infinity') < NOW()
                 OR (media_claimed_by IS NOT NULL
                     AND NOT atendimento_worker_alive(media_claimed_by)))
            AND (message_id NOT LIKE 'local-%' OR media_source_url IS NOT NULL)
          ORDER BY media_next_attempt_at NULLS FIRST, created_at
          LIMIT :limit
          FOR UPDATE SKIP LOCKED
        )
        UPDATE whatsapp_messages m
        SET media_claimed_until = NOW() + make_interval(secs => :lease),
            media_claimed_by = :worker, media_attempts = m.media_attempts + 1
        FROM due WHERE m.id = due.id
        RETURNING {MESSAGE_COLUMNS}
        """,
        limit=limit,
        lease=lease_seconds,
        worker=worker,
    )


async def seconds_until_due(db: Database) -> float | None:
    value = await fetch_val(
        db,
        """
        SELECT EXTRACT(EPOCH FROM min(GREATEST(COALESCE(media_next_attempt_at, NOW()),
                                               COALESCE(media_claimed_until, NOW()))) - NOW())
        FROM whatsapp_messages
        WHERE media_state = 'pending' AND (message_id NOT LIKE 'local-%'
                                           OR media_source_url IS NOT NULL)
        """,
    )
    return None if value is None else float(value)


async def mark_ready(
    db: Database,
    message_pk: uuid.UUID,
    *,
    key: str,
    size: int,
    sha256: str,
    mime_type: str,
    file_name: str | None,
    seconds: int | None,
) -> Row | None:
    """The bytes are stored under `key`; the declared type and name stay when already known."""
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_messages m SET
          media_state = 'ready', media_key = :key, media_size = :size, media_sha256 = :sha256,
          media_mime_type = COALESCE(m.media_mime_type, :mime_type),
          media_filename = COALESCE(m.media_filename, :file_name),
          media_seconds = COALESCE(m.media_seconds, :seconds),
          media_error = NULL, media_claimed_until = NULL, media_next_attempt_at = NULL,
          updated_at = NOW()
        WHERE m.id = :id
        RETURNING {MESSAGE_COLUMNS}
        """,
        id=message_pk,
        key=key,
        size=size,
        sha256=sha256,
        mime_type=mime_type,
        file_name=file_name,
        seconds=seconds,
    )


async def retry_later(db: Database, message_pk: uuid.UUID, error: str, at: datetime) -> None:
    await fetch_one(
        db,
        "UPDATE whatsapp_messages SET media_error = :error, media_next_attempt_at = :at, "
        "media_claimed_until = NULL WHERE id = :id AND media_state = 'pending' RETURNING id",
        id=message_pk,
        error=error,
        at=at,
    )


async def mark_unavailable(db: Database, message_pk: uuid.UUID, error: str) -> Row | None:
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_messages m SET media_state = 'unavailable', media_error = :error,
          media_claimed_until = NULL, media_next_attempt_at = NULL, updated_at = NOW()
        WHERE m.id = :id AND m.media_state = 'pending'
        RETURNING {MESSAGE_COLUMNS}
        """,
        id=message_pk,
        error=error,
    )


async def request_again(db: Database, message_pk: uuid.UUID) -> Row | None:
    """An UNAVAILABLE media back in the queue, its attempts starting over."""
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_messages m SET media_state = 'pending', media_attempts = 0,
          media_next_attempt_at = NULL, media_claimed_until = NULL, updated_at = NOW()
        WHERE m.id = :id AND m.media_state = 'unavailable'
        RETURNING {MESSAGE_COLUMNS}
        """,
        id=message_pk,
    )
