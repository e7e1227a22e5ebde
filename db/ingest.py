"""The statements of webhook ingestion that write several tables at once: a new message
with its receipt, its contact's last message and its stream events, alone or several at a
time. The stream counter is bumped as `db.events.append_event` does, holding the instance
row until commit, so sequence numbers follow commit order."""

from __future__ import annotations

import json
import uuid
from typing import Any

from databases import Database

from db.contacts import CONTACT_COLUMNS
from db.messages import MESSAGE_COLUMNS
from db.sql import Row, fetch_all, fetch_one


async def insert_incoming(db: Database, *, touch_contact: bool, **values: Any) -> Row | None:
    """Insert an incoming message with everything that goes with it, in one statement; None
    (and nothing written) when (instance_id, message_id) is already stored.

    Along with the row: the receipt that arrived before it is taken (returned as
    `receipt_status` / `receipt_deleted`), the stream gets "message created" and, with
    `touch_contact`, the contact's last message moves and the stream gets "contact updated".
    `last_seq` is the sequence number of the last of these stream events; the counter is
    bumped as `db.events.append_event` does, holding the instance row until commit.
    """
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return await fetch_one(
        db,
        f"""
        WITH m AS (
          INSERT INTO whatsapp_messages AS m ({columns}) VALUES ({params})
          ON CONFLICT (instance_id, message_id) DO NOTHING
          RETURNING {MESSAGE_COLUMNS}
        ), receipt AS (
          DELETE FROM whatsapp_message_receipts r
          WHERE r.instance_id = :instance_id AND r.message_id = :message_id
            AND EXISTS (SELECT 1 FROM m)
          RETURNING r.status, r.deleted
        ), touched AS (
          UPDATE whatsapp_contacts c SET
            activity_arrival = CASE WHEN (c.activity_at, c.activity_arrival)
              < (m.timestamp, m.arrival) THEN m.arrival ELSE c.activity_arrival END,
            last_message_at = GREATEST(c.last_message_at, m.timestamp), updated_at = NOW()
          FROM m WHERE c.id = m.contact_id AND :touch_contact
        ), bumped AS (
          UPDATE whatsapp_instances
          SET event_seq = event_seq + CASE WHEN :touch_contact THEN 2 ELSE 1 END
          WHERE id = :instance_id AND EXISTS (SELECT 1 FROM m)
          RETURNING event_seq
        ), stream AS (
          INSERT INTO whatsapp_events (instance_id, seq, topic, op, entity_id, contact_id)
          SELECT :instance_id, b.event_seq - e.back, e.topic, e.op, e.entity_id, m.contact_id
          FROM bumped b CROSS JOIN m
          CROSS JOIN LATERAL (VALUES
            (CASE WHEN :touch_contact THEN 1 ELSE 0 END, 'message', 'created', m.id),
            (0, 'contact', 'updated', m.contact_id)
          ) AS e(back, topic, op, entity_id)
          WHERE e.topic = 'message' OR :touch_contact
        )
        SELECT m.*, r.status AS receipt_status, r.deleted AS receipt_deleted,
               b.event_seq AS last_seq
        FROM m CROSS JOIN bumped b LEFT JOIN receipt r ON TRUE
        """,
        touch_contact=touch_contact,
        **values,
    )


# What `insert_incoming_many` stores per message, with the type of its column.
INCOMING_TYPES = {
    "contact_id": "uuid",
    "message_id": "text",
    "remote_jid": "text",
    "from_me": "boolean",
    "message_type": "text",
    "text_content": "text",
    "media_url": "text",
    "media_mime_type": "text",
    "media_size": "bigint",
    "media_filename": "text",
    "media_seconds": "integer",
    "quoted_message_id": "text",
    "status": "text",
    "timestamp": "timestamptz",
    "sender_jid": "text",
    "sender_name": "text",
    "metadata": "jsonb",
    "media_state": "text",
    "media_source_url": "text",
}


def _incoming_many_sql() -> str:
    names = list(INCOMING_TYPES)
    # jsonb travels as text: asyncpg's codec would not see into the array.
    arrays = ", ".join(
        f"CAST(:{n} AS {'text' if t == 'jsonb' else t}[])" for n, t in INCOMING_TYPES.items()
    )
    values = ", ".join(
        f"CAST(t.{n} AS jsonb)" if t == "jsonb" else f"t.{n}" for n, t in INCOMING_TYPES.items()
    )
    return f"""
        WITH t AS (
          SELECT * FROM unnest({arrays}, CAST(:touch AS boolean[]), CAST(:seq_offset AS int[]))
            WITH ORDINALITY AS t({", ".join(names)}, touch, seq_offset, n)
        ), m AS (
          INSERT INTO whatsapp_messages AS m (instance_id, {", ".join(names)})
          -- `arrival` (the column default) is drawn row after row as they are inserted,
          -- so in the order given.
          SELECT :instance_id, {values} FROM t ORDER BY t.n
          ON CONFLICT (instance_id, message_id) DO NOTHING
          RETURNING {MESSAGE_COLUMNS}
        ), receipt AS (
          DELETE FROM whatsapp_message_receipts r USING m
          WHERE r.instance_id = :instance_id AND r.message_id = m.message_id
          RETURNING r.message_id, r.status, r.deleted
        ), touched AS (
          UPDATE whatsapp_contacts c SET
            activity_arrival = CASE WHEN (c.activity_at, c.activity_arrival)
              < (l.at, l.arrival) THEN l.arrival ELSE c.activity_arrival END,
            last_message_at = GREATEST(c.last_message_at, l.at), updated_at = NOW()
          FROM (SELECT DISTINCT ON (m.contact_id) m.contact_id, m.timestamp AS at, m.arrival
                FROM m JOIN t ON t.message_id = m.message_id WHERE t.touch
                ORDER BY m.contact_id, m.timestamp DESC, m.arrival DESC) l
          WHERE c.id = l.contact_id
        ), bumped AS (
          UPDATE whatsapp_instances SET event_seq = event_seq + :events
          WHERE id = :instance_id AND EXISTS (SELECT 1 FROM m)
          RETURNING event_seq - :events AS base
        ), stream AS (
          INSERT INTO whatsapp_events (instance_id, seq, topic, op, entity_id, contact_id)
          SELECT :instance_id, b.base + t.seq_offset + e.k, e.topic, e.op,
                 CASE e.topic WHEN 'message' THEN m.id ELSE m.contact_id END, m.contact_id
          FROM bumped b CROSS JOIN m JOIN t ON t.message_id = m.message_id
          CROSS JOIN LATERAL (VALUES (1, 'message', 'created'), (2, 'contact', 'updated'))
            AS e(k, topic, op)
          WHERE e.k = 1 OR t.touch
        )
        SELECT m.*, r.status AS receipt_status, r.deleted AS receipt_deleted,
               b.base + t.seq_offset + 1 AS first_seq
        FROM m JOIN t ON t.message_id = m.message_id CROSS JOIN bumped b
        LEFT JOIN receipt r ON r.message_id = m.message_id
        ORDER BY t.n
    """


_INCOMING_MANY = _incoming_many_sql()


async def insert_incoming_many(
    db: Database, instance_id: uuid.UUID, messages: list[dict[str, Any]], touch: list[bool]
) -> list[Row]:
    """`insert_incoming` for several new messages of one instance, in one statement.

    `messages` hold the columns `insert_incoming` takes (missing ones are NULL), no two the
    same message_id. The stream gets, message after message, "message created" and, where
    `touch`, "contact updated"; each returned row's `first_seq` is its "message created".
    Returns the stored rows in the order given: a message already stored is left out, and
    then the stream has a hole the caller must not commit.
    """
    unknown = {k for m in messages for k in m} - set(INCOMING_TYPES) - {"instance_id"}
    if unknown:
        raise ValueError(f"no bulk column for {sorted(unknown)}")
    offsets, events = [], 0
    for touches in touch:
        offsets.append(events)
        events += 2 if touches else 1
    columns = {name: [m.get(name) for m in messages] for name in INCOMING_TYPES}
    columns["metadata"] = [None if v is None else json.dumps(v) for v in columns["metadata"]]
    return await fetch_all(
        db,
        _INCOMING_MANY,
        instance_id=instance_id,
        touch=touch,
        seq_offset=offsets,
        events=events,
        **columns,
    )


async def lock_for_new(
    db: Database, instance_id: uuid.UUID, keys: list[str], message_ids: list[str]
) -> tuple[list[Row], set[str]]:
    """Before storing several messages together: the contacts whose JID or LID is one of
    `keys`, oldest first and locked as `contacts.find_for_identity` locks them, and which of
    `message_ids` are stored already."""
    rows = await fetch_all(
        db,
        f"""
        WITH found AS (
          SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c
          WHERE c.instance_id = :instance_id
            AND (c.remote_jid = ANY(:keys) OR c.lid_jid = ANY(:keys))
          FOR UPDATE
        ), stored AS (
          SELECT array_agg(m.message_id) AS stored_ids FROM whatsapp_messages m
          WHERE m.instance_id = :instance_id AND m.message_id = ANY(:message_ids)
        )
        SELECT s.stored_ids, f.* FROM stored s LEFT JOIN found f ON TRUE
        ORDER BY f.created_at
        """,
        instance_id=instance_id,
        keys=keys,
        message_ids=message_ids,
    )
    stored = set(rows[0]["stored_ids"] or ()) if rows else set()
    return [r for r in rows if r["id"] is not None], stored
