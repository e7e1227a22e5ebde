"""The per-instance ordered change stream (`whatsapp_events`) behind resumable subscriptions."""

from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one


async def append_event(
    db: Database,
    instance_id: uuid.UUID,
    topic: str,
    op: str,
    entity_id: uuid.UUID,
    contact_id: uuid.UUID | None,
) -> int:
    """Record a change and return its sequence number.

    The counter lives on the instance row: the UPDATE holds that row's lock until commit, so
    concurrent writers of one instance commit in sequence order and a reader that has seen
    seq N has seen every seq below N.
    """
    row = await fetch_one(
        db,
        """
        WITH bumped AS (
          UPDATE whatsapp_instances SET event_seq = event_seq + 1 WHERE id = :instance_id
          RETURNING event_seq
        )
        INSERT INTO whatsapp_events (instance_id, seq, topic, op, entity_id, contact_id)
        SELECT :instance_id, event_seq, :topic, :op, :entity_id, :contact_id FROM bumped
        RETURNING seq
        """,
        instance_id=instance_id,
        topic=topic,
        op=op,
        entity_id=entity_id,
        contact_id=contact_id,
    )
    assert row is not None, "instance vanished while recording an event"
    return int(row["seq"])


async def events_after(
    db: Database,
    instance_id: uuid.UUID,
    after_seq: int,
    up_to: int | None = None,
    limit: int = 1000,
) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT seq, topic, op, entity_id, contact_id FROM whatsapp_events
        WHERE instance_id = :instance_id AND seq > :after
          AND (CAST(:up_to AS bigint) IS NULL OR seq < :up_to)
        ORDER BY seq LIMIT :limit
        """,
        instance_id=instance_id,
        after=after_seq,
        up_to=up_to,
        limit=limit,
    )


async def stream_bounds(db: Database, instance_id: uuid.UUID) -> tuple[int, int | None] | None:
    """(current seq, oldest retained seq) of an instance, or None when it does not exist."""
    row = await fetch_one(
        db,
        """
        SELECT i.event_seq,
               (SELECT min(seq) FROM whatsapp_events e WHERE e.instance_id = i.id) AS oldest
        FROM whatsapp_instances i WHERE i.id = :id
        """,
        id=instance_id,
    )
    return None if row is None else (int(row["event_seq"]), row["oldest"])


async def prune_events(db: Database, older_than_hours: float) -> int:
    status = await execute(
        db,
        "DELETE FROM whatsapp_events WHERE created_at < NOW() - make_interval(hours => :hours)",
        hours=older_than_hours,
    )
    return int(status.rsplit(" ", 1)[-1])
