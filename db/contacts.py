from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one

CONTACT_COLUMNS = """
  c.id, c.instance_id, c.remote_jid, c.phone_number, c.name, c.push_name, c.profile_picture_url,
  c.contact_type, c.client_id, c.last_message_at, c.created_at, c.updated_at, c.lid_jid,
  c.phone_key, c.is_group, c.name_locked, c.client_match_ambiguous, c.activity_at
"""


async def find_for_identity(
    db: Database, instance_id: uuid.UUID, jid: str, lid: str | None
) -> list[Row]:
    """Contacts that are this person: by chat JID, by known LID, or a LID-only contact."""
    return await fetch_all(
        db,
        f"""
        SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c
        WHERE c.instance_id = :instance_id
          AND (c.remote_jid = :jid OR c.remote_jid = :lid OR c.lid_jid = :lid OR c.lid_jid = :jid)
        ORDER BY c.created_at
        FOR UPDATE
        """,
        instance_id=instance_id, jid=jid, lid=lid,
    )


async def insert_contact(db: Database, instance_id: uuid.UUID, **values: Any) -> Row:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    row = await fetch_one(
        db,
        f"""
        INSERT INTO whatsapp_contacts AS c (instance_id, {columns})
        VALUES (:instance_id, {params})
        ON CONFLICT (instance_id, remote_jid) DO UPDATE SET updated_at = c.updated_at
        RETURNING {CONTACT_COLUMNS}, (xmax = 0) AS inserted
        """,
        instance_id=instance_id, **values,
    )
    assert row is not None
    return row


async def update_contact(db: Database, contact_id: uuid.UUID, **changes: Any) -> Row | None:
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    return await fetch_one(
        db,
        f"""
        UPDATE whatsapp_contacts c SET {assignments}, updated_at = NOW()
        WHERE c.id = :contact_id RETURNING {CONTACT_COLUMNS}
        """,
        contact_id=contact_id, **changes,
    )


async def merge_into(db: Database, keep_id: uuid.UUID, drop_id: uuid.UUID) -> None:
    """Move everything of `drop_id` to `keep_id` and delete it (one person, two identities)."""
    await execute(db, "UPDATE whatsapp_messages SET contact_id = :keep WHERE contact_id = :drop",
                  keep=keep_id, drop=drop_id)
    await execute(db, "UPDATE whatsapp_auto_reply_log SET contact_id = :keep "
                      "WHERE contact_id = :drop", keep=keep_id, drop=drop_id)
    await execute(
        db,
        """
        INSERT INTO whatsapp_contact_reads (profile_id, contact_id, read_at)
        SELECT profile_id, :keep, read_at FROM whatsapp_contact_reads WHERE contact_id = :drop
        ON CONFLICT (profile_id, contact_id)
        DO UPDATE SET read_at = GREATEST(whatsapp_contact_reads.read_at, EXCLUDED.read_at)
        """,
        keep=keep_id, drop=drop_id,
    )
    await execute(
        db,
        """
        UPDATE whatsapp_contacts k SET
          last_message_at = GREATEST(k.last_message_at, d.last_message_at),
          name = CASE WHEN k.name_locked THEN k.name ELSE COALESCE(k.name, d.name) END,
          client_id = COALESCE(k.client_id, d.client_id),
          contact_type = CASE WHEN k.contact_type = 'unknown' THEN d.contact_type
                              ELSE k.contact_type END,
          updated_at = NOW()
        FROM whatsapp_contacts d WHERE k.id = :keep AND d.id = :drop
        """,
        keep=keep_id, drop=drop_id,
    )
    await execute(db, "DELETE FROM whatsapp_contacts WHERE id = :drop", drop=drop_id)


async def touch_last_message(db: Database, contact_id: uuid.UUID, at: datetime) -> None:
    await execute(
        db,
        "UPDATE whatsapp_contacts SET last_message_at = GREATEST(last_message_at, :at), "
        "updated_at = NOW() WHERE id = :id",
        id=contact_id, at=at,
    )


async def get_contact(db: Database, contact_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = :id", id=contact_id
    )


async def get_contacts(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = ANY(:ids)", ids=ids
    )


async def list_contacts(
    db: Database, instance_id: uuid.UUID, *, contact_type: str | None, name_pattern: str | None,
    phone_pattern: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[Row]:
    """Newest conversation first, keyset-paginated on (activity_at, id).

    Search patterns are ILIKE/LIKE '%…%' strings served by the trigram indexes."""
    return await fetch_all(
        db,
        f"""
        SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c
        WHERE c.instance_id = :instance_id
          AND (CAST(:contact_type AS text) IS NULL OR c.contact_type = :contact_type)
          AND (CAST(:name_pattern AS text) IS NULL AND CAST(:phone_pattern AS text) IS NULL
               OR c.name ILIKE :name_pattern OR c.phone_number LIKE :phone_pattern)
          AND (CAST(:after_at AS timestamptz) IS NULL
               OR (c.activity_at, c.id) < (:after_at, CAST(:after_id AS uuid)))
        ORDER BY c.activity_at DESC, c.id DESC
        LIMIT :limit
        """,
        instance_id=instance_id, contact_type=contact_type, name_pattern=name_pattern,
        phone_pattern=phone_pattern, after_at=after[0] if after else None,
        after_id=after[1] if after else None, limit=limit,
    )


async def unread_counts(
    db: Database, profile_id: uuid.UUID, contact_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await fetch_all(
        db,
        """
        SELECT k.id, (
          SELECT count(*) FROM whatsapp_messages m
          WHERE m.contact_id = k.id AND NOT m.from_me AND m.deleted_at IS NULL
            AND m.timestamp > COALESCE(r.read_at, '-infinity')
            AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'  -- WhatsApp doesn't count them
        ) AS unread
        FROM unnest(CAST(:ids AS uuid[])) AS k(id)
        LEFT JOIN whatsapp_contact_reads r ON r.contact_id = k.id AND r.profile_id = :profile_id
        """,
        ids=contact_ids, profile_id=profile_id,
    )
    return {r["id"]: int(r["unread"]) for r in rows}


async def mark_read(db: Database, profile_id: uuid.UUID, contact_id: uuid.UUID) -> datetime:
    """Move the profile's read mark past the contact's newest message; return the mark."""
    row = await fetch_one(
        db,
        """
        INSERT INTO whatsapp_contact_reads (profile_id, contact_id, read_at)
        SELECT :profile_id, :contact_id, GREATEST(NOW(), max(m.timestamp))
        FROM whatsapp_messages m WHERE m.contact_id = :contact_id
        ON CONFLICT (profile_id, contact_id)
        DO UPDATE SET read_at = GREATEST(whatsapp_contact_reads.read_at, EXCLUDED.read_at)
        RETURNING read_at
        """,
        profile_id=profile_id, contact_id=contact_id,
    )
    assert row is not None
    return row["read_at"]  # type: ignore[no-any-return]


async def interaction_summaries(db: Database, contact_ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT k.id AS contact_id,
               min(m.timestamp) AS first_message_at, max(m.timestamp) AS last_message_at,
               count(m.id) FILTER (WHERE NOT m.from_me) AS incoming,
               count(m.id) FILTER (WHERE m.from_me) AS outgoing,
               (SELECT max(a.sent_at) FROM whatsapp_auto_reply_log a
                WHERE a.contact_id = k.id) AS last_auto_reply_at
        FROM unnest(CAST(:ids AS uuid[])) AS k(id)
        LEFT JOIN whatsapp_messages m ON m.contact_id = k.id
        GROUP BY k.id
        """,
        ids=contact_ids,
    )
