"""The outbox: PENDING outgoing messages, claimed one instance at a time under row locks."""

from __future__ import annotations

import uuid

from databases import Database

from db.messages import MESSAGE_COLUMNS
from db.sql import Row, execute, fetch_one, fetch_val


async def claim_next(
    db: Database, interval_seconds: float, lease_seconds: float, worker: int | None = None
) -> Row | None:
    """Claim the oldest due message of an instance that may send now, or None.

    Within one transaction: pick an instance whose rate-limit slot is open, with no message in
    flight, whose oldest pending message is due; lock it (SKIP LOCKED, so replicas pick
    different instances), claim that message for `worker` and `lease_seconds`, and move the
    instance's next slot `interval_seconds` ahead. A message is in flight while its lease
    runs and its worker's lock is held: a claimer that dies frees it at once (its worker lock
    goes with its connection), one without a worker id when its lease runs out.
    """
    async with db.transaction():
        head = await fetch_one(
            db,
            """
            SELECT i.id AS instance_id, h.id AS message_pk
            FROM whatsapp_instances i
            CROSS JOIN LATERAL (
              SELECT m.id, m.next_attempt_at, m.claimed_until, m.claimed_by FROM whatsapp_messages m
              WHERE m.instance_id = i.id AND m.status = 'pending' AND m.from_me
              ORDER BY m.created_at, m.id LIMIT 1
            ) h
            WHERE i.next_send_at <= NOW()
              AND COALESCE(h.next_attempt_at, '-infinity') <= NOW()
              AND (COALESCE(h.claimed_until, '-infinity') < NOW()
                   OR (h.claimed_by IS NOT NULL AND NOT atendimento_worker_alive(h.claimed_by)))
            ORDER BY h.next_attempt_at NULLS FIRST
            LIMIT 1
            FOR UPDATE OF i SKIP LOCKED
            """,
        )
        if head is None:
            return None
        await execute(
            db,
            "UPDATE whatsapp_instances SET next_send_at = NOW() + make_interval(secs => :gap) "
            "WHERE id = :id",
            id=head["instance_id"],
            gap=interval_seconds,
        )
        return await fetch_one(
            db,
            f"""
            UPDATE whatsapp_messages m
            SET claimed_until = NOW() + make_interval(secs => :lease), claimed_by = :worker,
                attempts = attempts + 1, updated_at = NOW()
            WHERE m.id = :id AND m.status = 'pending'
            RETURNING {MESSAGE_COLUMNS}
            """,
            id=head["message_pk"],
            lease=lease_seconds,
            worker=worker,
        )


async def seconds_until_due(db: Database) -> float | None:
    """How long until the outbox next has something to do (None: nothing queued)."""
    value = await fetch_val(
        db,
        """
        SELECT EXTRACT(EPOCH FROM min(GREATEST(i.next_send_at,
                                               COALESCE(m.next_attempt_at, NOW()),
                                               COALESCE(m.claimed_until, NOW()), NOW())) - NOW())
        FROM whatsapp_messages m JOIN whatsapp_instances i ON i.id = m.instance_id
        WHERE m.status = 'pending' AND m.from_me
        """,
    )
    return None if value is None else float(value)


async def release(db: Database, message_pk: uuid.UUID) -> None:
    """Give a claimed message back untouched (shutdown before sending)."""
    await execute(
        db,
        "UPDATE whatsapp_messages SET claimed_until = NULL, claimed_by = NULL, "
        "attempts = GREATEST(attempts - 1, 0) "
        "WHERE id = :id AND status = 'pending'",
        id=message_pk,
    )


async def in_flight_for_contact(db: Database, contact_id: uuid.UUID) -> bool:
    row = await fetch_one(
        db,
        "SELECT 1 FROM whatsapp_messages WHERE contact_id = :id AND status = 'pending' "
        "AND from_me AND claimed_until > NOW() LIMIT 1",
        id=contact_id,
    )
    return row is not None


async def take_over_echo(
    db: Database, instance_id: uuid.UUID, message_id: str, keep_pk: uuid.UUID
) -> Row | None:
    """Remove a row the `send.message` echo stored under our message's WhatsApp id, if any."""
    return await fetch_one(
        db,
        "DELETE FROM whatsapp_messages WHERE instance_id = :instance_id "
        "AND message_id = :message_id AND id <> :keep RETURNING status",
        instance_id=instance_id,
        message_id=message_id,
        keep=keep_pk,
    )


async def requeue_failed(db: Database, message_pk: uuid.UUID) -> Row | None:
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_messages m SET status = 'pending', attempts = 0, next_attempt_at = NOW(),
          claimed_until = NULL, error = NULL, updated_at = NOW()
        WHERE m.id = :id AND m.status = 'failed' AND m.from_me
        RETURNING {MESSAGE_COLUMNS}
        """,
        id=message_pk,
    )


async def pace(db: Database, instance_id: uuid.UUID, interval_seconds: float) -> None:
    """Start the instance's next interval when a send ends, so two sends reach WhatsApp at
    least `interval_seconds` apart however long each call took."""
    await execute(
        db,
        "UPDATE whatsapp_instances SET next_send_at = NOW() + make_interval(secs => :gap) "
        "WHERE id = :id",
        id=instance_id,
        gap=interval_seconds,
    )
