"""The webhook event log: every authenticated delivery, stored raw before it is processed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from databases import Database

from db.sql import Row, affected, execute, fetch_all, fetch_one, fetch_val

# Namespace of the per-instance advisory locks that keep one processor per instance.
LOCK_NAMESPACE = 7001


async def insert_event(
    db: Database, instance_id: uuid.UUID, event: str, payload: Any, body_sha256: str
) -> int | None:
    """Store an event; None when the same body was already stored (a redelivery)."""
    return await fetch_val(  # type: ignore[no-any-return]
        db,
        """
        INSERT INTO webhook_events (instance_id, event, payload, body_sha256)
        VALUES (:instance_id, :event, :payload, :sha)
        ON CONFLICT (instance_id, body_sha256) DO NOTHING
        RETURNING id
        """,
        instance_id=instance_id,
        event=event,
        payload=payload,
        sha=body_sha256,
    )


async def insert_events(
    db: Database, rows: list[tuple[uuid.UUID, str, str, str]]
) -> dict[tuple[uuid.UUID, str], int]:
    """Store several events in one statement (one commit), in the order given.

    `rows` are (instance_id, event, payload as JSON text, body_sha256), no two with the same
    instance and digest. Returns the ids of those stored, by (instance_id, body_sha256); the
    others were already stored (redeliveries).
    """
    stored = await fetch_all(
        db,
        """
        INSERT INTO webhook_events (instance_id, event, payload, body_sha256)
        SELECT t.instance_id, t.event, CAST(t.payload AS jsonb), t.sha
        FROM unnest(CAST(:instance_ids AS uuid[]), CAST(:events AS text[]),
                    CAST(:payloads AS text[]), CAST(:shas AS text[]))
             WITH ORDINALITY AS t(instance_id, event, payload, sha, n)
        ORDER BY t.n
        ON CONFLICT (instance_id, body_sha256) DO NOTHING
        RETURNING id, instance_id, body_sha256
        """,
        instance_ids=[r[0] for r in rows],
        events=[r[1] for r in rows],
        payloads=[r[2] for r in rows],
        shas=[r[3] for r in rows],
    )
    return {(r["instance_id"], r["body_sha256"]): r["id"] for r in stored}


async def instances_with_pending(db: Database, limit: int = 100) -> list[uuid.UUID]:
    rows = await fetch_all(
        db,
        """
        SELECT instance_id FROM webhook_events
        WHERE status = 'pending' AND next_attempt_at <= NOW()
        GROUP BY instance_id ORDER BY min(id) LIMIT :limit
        """,
        limit=limit,
    )
    return [r["instance_id"] for r in rows]


async def try_lock_instance(db: Database, instance_id: uuid.UUID) -> bool:
    """Take this instance's processing lock for the current transaction, without waiting."""
    return bool(
        await fetch_val(
            db,
            "SELECT pg_try_advisory_xact_lock(:ns, hashtext(CAST(CAST(:id AS uuid) AS text)))",
            ns=LOCK_NAMESPACE,
            id=instance_id,
        )
    )


async def pending_for_instance(db: Database, instance_id: uuid.UUID, limit: int) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT id, event, payload, attempts, received_at, next_attempt_at FROM webhook_events
        WHERE instance_id = :instance_id AND status = 'pending'
        ORDER BY id LIMIT :limit
        """,
        instance_id=instance_id,
        limit=limit,
    )


async def finish_batch(
    db: Database, instance_id: uuid.UUID, done_ids: list[int], seen_at: datetime
) -> None:
    """Mark a batch's applied events done and note that the instance was heard from."""
    await execute(
        db,
        """
        WITH done AS (
          UPDATE webhook_events SET status = 'done', processed_at = NOW(), last_error = NULL
          WHERE id = ANY(:ids)
        )
        UPDATE whatsapp_instances SET last_seen_at = GREATEST(last_seen_at, :seen_at)
        WHERE id = :instance_id
        """,
        ids=done_ids,
        instance_id=instance_id,
        seen_at=seen_at,
    )


async def mark_attempt_failed(
    db: Database, event_id: int, error: str, give_up: bool, retry_at: datetime
) -> None:
    await execute(
        db,
        """
        UPDATE webhook_events SET attempts = attempts + 1, last_error = :error,
          status = CASE WHEN :give_up THEN 'failed' ELSE 'pending' END,
          next_attempt_at = :retry_at
        WHERE id = :id
        """,
        id=event_id,
        error=error[:2000],
        give_up=give_up,
        retry_at=retry_at,
    )


async def postpone(db: Database, event_id: int, until: datetime) -> None:
    await execute(
        db,
        "UPDATE webhook_events SET next_attempt_at = :until WHERE id = :id",
        id=event_id,
        until=until,
    )


async def list_events(db: Database, status: str | None, limit: int) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT e.id, e.instance_id, i.instance_name, e.event, e.status, e.attempts,
               e.last_error, e.received_at, e.processed_at
        FROM webhook_events e JOIN whatsapp_instances i ON i.id = e.instance_id
        WHERE CAST(:status AS text) IS NULL OR e.status = :status
        ORDER BY e.id DESC LIMIT :limit
        """,
        status=status,
        limit=limit,
    )


async def get_event(db: Database, event_id: int) -> Row | None:
    return await fetch_one(db, "SELECT * FROM webhook_events WHERE id = :id", id=event_id)


async def requeue(db: Database, event_id: int | None) -> int:
    """Put one failed event (or all of them, with None) back in the queue."""
    status = await execute(
        db,
        """
        UPDATE webhook_events SET status = 'pending', next_attempt_at = NOW(), attempts = 0
        WHERE status = 'failed' AND (CAST(:id AS bigint) IS NULL OR id = :id)
        """,
        id=event_id,
    )
    return affected(status)


async def prune_done(db: Database, older_than_hours: float) -> int:
    status = await execute(
        db,
        "DELETE FROM webhook_events WHERE status = 'done' "
        "AND processed_at < NOW() - make_interval(hours => :hours)",
        hours=older_than_hours,
    )
    return affected(status)
