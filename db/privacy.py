"""SQL of privacy work: erasing a contact, the privacy log, the media-object deletion queue,
retention, scheduled jobs, and reading everything kept about a contact for an export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from databases import Database

from db.contacts import CONTACT_COLUMNS
from db.messages import MESSAGE_COLUMNS
from db.sql import Row, affected, execute, fetch_all, fetch_one, fetch_val

# Erasing -------------------------------------------------------------------------------------


async def lock_contact(db: Database, contact_id: uuid.UUID) -> Row | None:
    """The contact, locked until the caller's transaction ends (ingest takes the same lock)."""
    return await fetch_one(
        db,
        f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = :id FOR UPDATE",
        id=contact_id,
    )


async def delete_contact_messages(db: Database, contact_id: uuid.UUID) -> list[Row]:
    """Delete the contact's messages (its pending sends with them); what names their objects."""
    return await fetch_all(
        db,
        """
        DELETE FROM whatsapp_messages WHERE contact_id = :id
        RETURNING id, instance_id, message_id, message_type, media_key,
                  metadata->>'upload' AS upload_key
        """,
        id=contact_id,
    )


async def delete_receipts(db: Database, instance_id: uuid.UUID, message_ids: list[str]) -> int:
    if not message_ids:
        return 0
    return affected(
        await execute(
            db,
            "DELETE FROM whatsapp_message_receipts "
            "WHERE instance_id = :instance_id AND message_id = ANY(:ids)",
            instance_id=instance_id,
            ids=message_ids,
        )
    )


async def delete_raw_webhooks(db: Database, instance_id: uuid.UUID, jids: list[str]) -> int:
    """Stored webhook bodies that mention the person (their JIDs), whatever their state: they
    hold the person's texts and number. A scan of the number's event log, which is pruned
    after a few days; erasures are rare."""
    if not jids:
        return 0
    return affected(
        await execute(
            db,
            """
            DELETE FROM webhook_events
            WHERE instance_id = :instance_id
              AND EXISTS (SELECT 1 FROM unnest(CAST(:jids AS text[])) j
                          WHERE position(j IN payload::text) > 0)
            """,
            instance_id=instance_id,
            jids=jids,
        )
    )


async def delete_stream_events(db: Database, contact_id: uuid.UUID) -> int:
    return affected(
        await execute(
            db,
            "DELETE FROM whatsapp_events WHERE contact_id = :id OR entity_id = :id",
            id=contact_id,
        )
    )


async def delete_contact(db: Database, contact_id: uuid.UUID) -> bool:
    """The contact row; every table that references it goes with it (ON DELETE CASCADE)."""
    return (
        affected(await execute(db, "DELETE FROM whatsapp_contacts WHERE id = :id", id=contact_id))
        == 1
    )


async def log_action(
    db: Database,
    action: str,
    *,
    actor_id: uuid.UUID | None,
    instance_id: uuid.UUID | None,
    subject_id: uuid.UUID | None,
    reason: str | None,
    counts: dict[str, int],
) -> int:
    return int(
        await fetch_val(
            db,
            """
            INSERT INTO privacy_log (action, actor_id, instance_id, subject_id, reason, counts)
            VALUES (:action, :actor_id, :instance_id, :subject_id, :reason, :counts)
            RETURNING id
            """,
            action=action,
            actor_id=actor_id,
            instance_id=instance_id,
            subject_id=subject_id,
            reason=reason,
            counts=counts,
        )
    )


async def message_exists(db: Database, message_pk: uuid.UUID) -> bool:
    return bool(
        await fetch_val(
            db, "SELECT EXISTS (SELECT 1 FROM whatsapp_messages WHERE id = :id)", id=message_pk
        )
    )


# The media-object deletion queue ------------------------------------------------------------


async def queue_deletions(db: Database, keys: list[str], *, is_prefix: bool = False) -> None:
    if not keys:
        return
    await execute(
        db,
        """
        INSERT INTO media_deletions (key, is_prefix)
        SELECT k, :is_prefix FROM unnest(CAST(:keys AS text[])) k
        ON CONFLICT (key) DO UPDATE SET next_attempt_at = LEAST(media_deletions.next_attempt_at,
                                                                 NOW())
        """,
        keys=keys,
        is_prefix=is_prefix,
    )


async def claim_deletions(
    db: Database, limit: int, lease_seconds: float, keys: list[str] | None = None
) -> list[Row]:
    """Due deletions (or, with `keys`, those of them whatever their time), claimed for
    `lease_seconds`; SKIP LOCKED and the lease let replicas share the queue."""
    return await fetch_all(
        db,
        """
        WITH due AS (
          SELECT key FROM media_deletions
          WHERE (CAST(:keys AS text[]) IS NULL AND next_attempt_at <= NOW()
                 OR key = ANY(CAST(:keys AS text[])))
            AND COALESCE(claimed_until, '-infinity') < NOW()
          ORDER BY next_attempt_at
          LIMIT :limit
          FOR UPDATE SKIP LOCKED
        )
        UPDATE media_deletions d
        SET claimed_until = NOW() + make_interval(secs => :lease), attempts = d.attempts + 1
        FROM due WHERE d.key = due.key
        RETURNING d.key, d.is_prefix, d.attempts
        """,
        limit=limit,
        lease=lease_seconds,
        keys=keys,
    )


async def deletion_done(db: Database, key: str) -> None:
    await execute(db, "DELETE FROM media_deletions WHERE key = :key", key=key)


async def deletion_failed(db: Database, key: str, error: str, at: datetime) -> None:
    await execute(
        db,
        "UPDATE media_deletions SET last_error = :error, next_attempt_at = :at, "
        "claimed_until = NULL WHERE key = :key",
        key=key,
        error=error,
        at=at,
    )


async def pending_deletions(db: Database) -> int:
    return int(await fetch_val(db, "SELECT count(*) FROM media_deletions"))


# Retention ----------------------------------------------------------------------------------


async def delete_messages_before(db: Database, cutoff: datetime, limit: int) -> list[Row]:
    """One batch of messages older than `cutoff` (by WhatsApp's time), skipping rows another
    transaction holds; what names their objects."""
    return await fetch_all(
        db,
        """
        WITH old AS (
          SELECT id FROM whatsapp_messages WHERE timestamp < :cutoff
          ORDER BY timestamp, id LIMIT :limit
          FOR UPDATE SKIP LOCKED
        )
        DELETE FROM whatsapp_messages m USING old WHERE m.id = old.id
        RETURNING m.id, m.instance_id, m.message_id, m.message_type, m.media_key,
                  m.metadata->>'upload' AS upload_key
        """,
        cutoff=cutoff,
        limit=limit,
    )


async def drop_media_before(db: Database, cutoff: datetime, limit: int) -> list[Row]:
    """One batch of stored media older than `cutoff`: the messages stay, their media becomes
    unavailable; what names the objects."""
    return await fetch_all(
        db,
        """
        WITH old AS (
          SELECT id, media_key, metadata->>'upload' AS upload_key FROM whatsapp_messages
          WHERE timestamp < :cutoff AND media_state = 'ready'
          ORDER BY timestamp, id LIMIT :limit
          FOR UPDATE SKIP LOCKED
        )
        UPDATE whatsapp_messages m SET media_state = 'unavailable', media_key = NULL,
          media_sha256 = NULL, media_error = 'removed by the media retention period',
          metadata = CASE WHEN m.metadata ? 'upload' THEN m.metadata - 'upload'
                          ELSE m.metadata END,
          updated_at = NOW()
        FROM old WHERE m.id = old.id
        RETURNING m.id, m.instance_id, m.message_id, m.message_type, old.media_key,
                  old.upload_key
        """,
        cutoff=cutoff,
        limit=limit,
    )


async def delete_auto_replies_before(db: Database, cutoff: datetime, limit: int) -> int:
    """One batch of auto-reply log rows (they keep the text sent) older than `cutoff`,
    skipping rows another transaction holds."""
    return affected(
        await execute(
            db,
            """
            WITH old AS (
              SELECT id FROM whatsapp_auto_reply_log WHERE sent_at < :cutoff
              LIMIT :limit FOR UPDATE SKIP LOCKED
            )
            DELETE FROM whatsapp_auto_reply_log l USING old WHERE l.id = old.id
            """,
            cutoff=cutoff,
            limit=limit,
        )
    )


async def delete_raw_webhooks_before(db: Database, cutoff: datetime, limit: int) -> int:
    """One batch of stored webhook bodies (failed ones are otherwise kept for replay) older
    than `cutoff`, skipping rows another transaction holds (a processor applying them)."""
    return affected(
        await execute(
            db,
            """
            WITH old AS (
              SELECT id FROM webhook_events WHERE received_at < :cutoff
              LIMIT :limit FOR UPDATE SKIP LOCKED
            )
            DELETE FROM webhook_events w USING old WHERE w.id = old.id
            """,
            cutoff=cutoff,
            limit=limit,
        )
    )


# Scheduled jobs -----------------------------------------------------------------------------


async def claim_job(db: Database, name: str, every_seconds: float) -> bool:
    """True for the one caller, among every replica, that runs `name` now; the next run is
    `every_seconds` away."""
    await execute(
        db,
        "INSERT INTO scheduled_jobs (name) VALUES (:name) ON CONFLICT (name) DO NOTHING",
        name=name,
    )
    row = await fetch_one(
        db,
        """
        UPDATE scheduled_jobs SET next_run_at = NOW() + make_interval(secs => :every),
          last_started_at = NOW()
        WHERE name = :name AND next_run_at <= NOW()
        RETURNING name
        """,
        name=name,
        every=every_seconds,
    )
    return row is not None


async def finish_job(db: Database, name: str, counts: dict[str, int]) -> None:
    await execute(
        db,
        "UPDATE scheduled_jobs SET last_finished_at = NOW(), last_counts = :counts "
        "WHERE name = :name",
        name=name,
        counts=counts,
    )


# Export -------------------------------------------------------------------------------------


async def contact_with_client(db: Database, contact_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db,
        f"""
        SELECT {CONTACT_COLUMNS}, to_jsonb(cl) AS client
        FROM whatsapp_contacts c LEFT JOIN clients cl ON cl.id = c.client_id
        WHERE c.id = :id
        """,
        id=contact_id,
    )


async def contact_messages(db: Database, contact_id: uuid.UUID) -> list[Row]:
    return await fetch_all(
        db,
        f"""
        SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m WHERE m.contact_id = :id
        ORDER BY m.timestamp, m.arrival
        """,
        id=contact_id,
    )


async def tables_referencing_contacts(db: Database) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every foreign key to whatsapp_contacts(id), from the catalog:
    tables added later (notes, labels, reports…) are found without being named here."""
    rows = await fetch_all(
        db,
        """
        SELECT n.nspname, r.relname, a.attname
        FROM pg_constraint c
        JOIN pg_class r ON r.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.confrelid = 'whatsapp_contacts'::regclass
          AND array_length(c.conkey, 1) = 1
        ORDER BY 2, 3
        """,
    )
    return [(r["nspname"], r["relname"], r["attname"]) for r in rows]


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def rows_referencing(
    db: Database, schema: str, table: str, column: str, contact_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every row of `table` whose `column` is the contact, as JSON objects. The names come
    from the catalog (tables_referencing_contacts), never from a user, and are quoted as
    identifiers all the same."""
    rows = await fetch_all(
        db,
        f"SELECT to_jsonb(t) AS row FROM {_identifier(schema)}.{_identifier(table)} t "
        f"WHERE t.{_identifier(column)} = :id",
        id=contact_id,
    )
    return [dict(r["row"]) for r in rows]
