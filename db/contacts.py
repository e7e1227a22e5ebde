from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from databases import Database

from db.messages import MESSAGE_COLUMNS
from db.sql import (
    Row,
    execute,
    fetch_all,
    fetch_all_planned_with_values,
    fetch_one,
    update_returning,
)

CONTACT_COLUMNS = """
  c.id, c.instance_id, c.remote_jid, c.phone_number, c.name, c.push_name, c.profile_picture_url,
  c.contact_type, c.client_id, c.last_message_at, c.created_at, c.updated_at, c.lid_jid,
  c.phone_key, c.is_group, c.name_locked, c.client_match_ambiguous, c.activity_at,
  c.activity_arrival, c.conversation_status, c.assignee_id, c.opened_at, c.first_response_at,
  c.resolved_at
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
        instance_id=instance_id,
        jid=jid,
        lid=lid,
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
        instance_id=instance_id,
        **values,
    )
    assert row is not None
    return row


async def update_contact(db: Database, contact_id: uuid.UUID, **changes: Any) -> Row | None:
    return await update_returning(
        db,
        "whatsapp_contacts c",
        changes,
        where="c.id = :contact_id",
        returning=CONTACT_COLUMNS,
        contact_id=contact_id,
    )


async def merge_into(db: Database, keep_id: uuid.UUID, drop_id: uuid.UUID) -> None:
    """Move everything of `drop_id` to `keep_id` and delete it (one person, two identities)."""
    await execute(
        db,
        "UPDATE whatsapp_messages SET contact_id = :keep WHERE contact_id = :drop",
        keep=keep_id,
        drop=drop_id,
    )
    await execute(
        db,
        "UPDATE whatsapp_auto_reply_log SET contact_id = :keep WHERE contact_id = :drop",
        keep=keep_id,
        drop=drop_id,
    )
    # Labels and the conversation log follow the person; the kept contact's own state wins.
    await execute(
        db,
        """
        INSERT INTO whatsapp_contact_labels (contact_id, instance_id, label, label_key, added_at)
        SELECT :keep, instance_id, label, label_key, added_at FROM whatsapp_contact_labels
        WHERE contact_id = :drop
        ON CONFLICT (contact_id, label_key) DO NOTHING
        """,
        keep=keep_id,
        drop=drop_id,
    )
    await execute(
        db,
        "UPDATE whatsapp_conversation_log SET contact_id = :keep WHERE contact_id = :drop",
        keep=keep_id,
        drop=drop_id,
    )
    await execute(
        db,
        """
        INSERT INTO whatsapp_contact_reads (profile_id, contact_id, read_at, read_arrival)
        SELECT profile_id, :keep, read_at, read_arrival FROM whatsapp_contact_reads
        WHERE contact_id = :drop
        ON CONFLICT (profile_id, contact_id)
        DO UPDATE SET read_at = GREATEST(whatsapp_contact_reads.read_at, EXCLUDED.read_at),
                      read_arrival = GREATEST(whatsapp_contact_reads.read_arrival,
                                              EXCLUDED.read_arrival)
        """,
        keep=keep_id,
        drop=drop_id,
    )
    await execute(
        db,
        """
        UPDATE whatsapp_contacts k SET
          activity_arrival = CASE WHEN (k.activity_at, k.activity_arrival)
            < (d.activity_at, d.activity_arrival) THEN d.activity_arrival
            ELSE k.activity_arrival END,
          last_message_at = GREATEST(k.last_message_at, d.last_message_at),
          name = CASE WHEN k.name_locked THEN k.name ELSE COALESCE(k.name, d.name) END,
          client_id = COALESCE(k.client_id, d.client_id),
          contact_type = CASE WHEN k.contact_type = 'unknown' THEN d.contact_type
                              ELSE k.contact_type END,
          assignee_id = COALESCE(k.assignee_id, d.assignee_id),
          opened_at = COALESCE(k.opened_at, d.opened_at),
          first_response_at = COALESCE(k.first_response_at, d.first_response_at),
          updated_at = NOW()
        FROM whatsapp_contacts d WHERE k.id = :keep AND d.id = :drop
        """,
        keep=keep_id,
        drop=drop_id,
    )
    await execute(db, "DELETE FROM whatsapp_contacts WHERE id = :drop", drop=drop_id)


async def touch_last_message(db: Database, contact_id: uuid.UUID, message_pk: uuid.UUID) -> None:
    """The contact's conversation moves up to its message `message_pk`, unless a later one
    (by timestamp, then arrival) is its last already."""
    await execute(
        db,
        """
        UPDATE whatsapp_contacts c SET
          activity_arrival = CASE WHEN (c.activity_at, c.activity_arrival)
            < (m.timestamp, m.arrival) THEN m.arrival ELSE c.activity_arrival END,
          last_message_at = GREATEST(c.last_message_at, m.timestamp), updated_at = NOW()
        FROM whatsapp_messages m WHERE c.id = :id AND m.id = :message_pk
        """,
        id=contact_id,
        message_pk=message_pk,
    )


async def get_contact(db: Database, contact_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = :id", id=contact_id
    )


async def get_contacts(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = ANY(:ids)", ids=ids
    )


# The unread count of contact `c` for viewer :profile_id: incoming messages after the viewer's
# own read mark (by arrival: see migration 0008). Shared by the list statement and
# `unread_counts`, so the two cannot drift.
_UNREAD_COUNT = """(
  SELECT count(*) FROM whatsapp_messages m
  WHERE m.contact_id = c.id AND NOT m.from_me AND m.deleted_at IS NULL
    AND m.arrival > COALESCE((SELECT r.read_arrival FROM whatsapp_contact_reads r
                              WHERE r.profile_id = :profile_id AND r.contact_id = c.id), 0)
    AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'  -- WhatsApp doesn't count them
)"""

# The list statement ends each row with its last message's columns, renamed so they cannot
# shadow the contact's own (both have id, instance_id, remote_jid…).
_MESSAGE_FIELDS = tuple(column.strip().removeprefix("m.") for column in MESSAGE_COLUMNS.split(","))
_LAST_MESSAGE = f"""LEFT JOIN LATERAL (
          SELECT {", ".join(f"m.{name} AS last_message_{name}" for name in _MESSAGE_FIELDS)}
          FROM whatsapp_messages m
          WHERE m.contact_id = c.id AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'
            AND m.message_type <> 'note'  -- internal: the list shows the WhatsApp chat
          ORDER BY m.timestamp DESC, m.arrival DESC LIMIT 1
        ) lm ON true"""


@lru_cache(maxsize=256)
def _list_sql(
    *,
    by_type: bool,
    by_name: bool,
    by_phone: bool,
    after: bool,
    limit: int,
    unread: bool,
    last_message: bool,
    before: bool = False,
    backward: bool = False,
    by_status: bool = False,
    by_assignee: bool = False,
    unassigned: bool = False,
    by_label: bool = False,
) -> str:
    """The list statement of one shape of request, with only the filters given.

    One statement for every shape (`CAST(:x AS text) IS NULL OR …`) ended on a generic plan
    that walked the activity index even for a search. LIMIT is written in: as a parameter,
    PostgreSQL costs the generic plan for 10% of the contacts and re-plans every run instead.
    """
    where = ["c.instance_id = :instance_id"]
    if by_type:
        where.append("c.contact_type = :contact_type")
    if by_name and by_phone:
        where.append("(c.name ILIKE :name_pattern OR c.phone_number LIKE :phone_pattern)")
    elif by_name:
        where.append("c.name ILIKE :name_pattern")
    elif by_phone:
        where.append("c.phone_number LIKE :phone_pattern")
    if by_status:
        where.append("c.conversation_status = :status")
    if by_assignee:
        where.append("c.assignee_id = :assignee_id")
    elif unassigned:
        where.append("c.assignee_id IS NULL")
    if by_label:
        where.append(
            "c.id IN (SELECT l.contact_id FROM whatsapp_contact_labels l "
            "WHERE l.instance_id = :instance_id AND l.label_key = :label_key)"
        )
    if after:
        where.append(
            "(c.activity_at, c.activity_arrival, c.id) < (:after_at, :after_arrival, :after_id)"
        )
    if before:
        where.append(
            "(c.activity_at, c.activity_arrival, c.id) > (:before_at, :before_arrival, :before_id)"
        )
    inner_order = "ASC" if backward else "DESC"
    columns = "c.*"
    if unread:
        columns += f", {_UNREAD_COUNT} AS unread_count"
    if last_message:
        columns += ", lm.*"  # last: list_contacts takes the message from the row's end
    # The page is cut first, so the per-contact lookups run for its rows only (a search can
    # match thousands of contacts before the sort and LIMIT).
    return f"""
        SELECT {columns} FROM (
          SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c
          WHERE {" AND ".join(where)}
          ORDER BY c.activity_at {inner_order}, c.activity_arrival {inner_order},
                   c.id {inner_order}
          LIMIT {int(limit)}
        ) c
        {_LAST_MESSAGE if last_message else ""}
        ORDER BY c.activity_at DESC, c.activity_arrival DESC, c.id DESC
        """


async def list_contacts(
    db: Database,
    instance_id: uuid.UUID,
    *,
    contact_type: str | None,
    name_pattern: str | None,
    phone_pattern: str | None,
    after: tuple[datetime, int, uuid.UUID] | None,
    limit: int,
    unread_for: uuid.UUID | None = None,
    with_last_message: bool = False,
    before: tuple[datetime, int, uuid.UUID] | None = None,
    backward: bool = False,
    status: str | None = None,
    assignee_id: uuid.UUID | None = None,
    unassigned: bool = False,
    label_key: str | None = None,
) -> list[Row]:
    """Newest conversation first, keyset-paginated on (activity_at, activity_arrival, id)
    (conversations whose last messages share a second: the one that arrived last first), in
    one statement.

    A search matches the name with `name_pattern` or the phone number with `phone_pattern`
    (ILIKE/LIKE '%…%' strings served by the trigram indexes). With `unread_for` (a profile
    id) each row has that viewer's `unread_count`, with `with_last_message` its last message
    (read it with `last_message_of`): the list shows both, and reading them here spares two more
    queries and a DataLoader future per contact and field. `before` bounds the page on the
    newer side; `backward` takes the `limit` rows nearest `before` (the oldest without it),
    still answered newest first.

    The inbox filters (`status`, `assignee_id` or `unassigned`, `label_key`) combine with the
    search and the type, each served by an index in the same order (migration 0009)."""
    params: dict[str, Any] = {"instance_id": instance_id}
    if contact_type is not None:
        params["contact_type"] = contact_type
    if name_pattern is not None:
        params["name_pattern"] = name_pattern
    if phone_pattern is not None:
        params["phone_pattern"] = phone_pattern
    if status is not None:
        params["status"] = status
    if assignee_id is not None:
        params["assignee_id"] = assignee_id
    if label_key is not None:
        params["label_key"] = label_key
    if after is not None:
        params["after_at"], params["after_arrival"], params["after_id"] = after
    if before is not None:
        params["before_at"], params["before_arrival"], params["before_id"] = before
    if unread_for is not None:
        params["profile_id"] = unread_for
    sql = _list_sql(
        by_type=contact_type is not None,
        by_name=name_pattern is not None,
        by_phone=phone_pattern is not None,
        after=after is not None,
        limit=limit,
        unread=unread_for is not None,
        last_message=with_last_message,
        before=before is not None,
        backward=backward,
        by_status=status is not None,
        by_assignee=assignee_id is not None,
        unassigned=unassigned and assignee_id is None,
        by_label=label_key is not None,
    )
    # A search's or a label's best plan depends on its value: a common fragment ("silva") is
    # found fastest by the activity index, a rare one by the trigram (or label) index.
    searching = name_pattern is not None or phone_pattern is not None or label_key is not None
    return await (fetch_all_planned_with_values if searching else fetch_all)(db, sql, **params)


async def get_contact_with_last_message(db: Database, contact_id: uuid.UUID) -> Row | None:
    """The contact and its last message in one snapshot (read with `last_message_of`): a live
    event shows both as they were together, never a message newer than the row."""
    return await fetch_one(
        db,
        f"""SELECT c.*, lm.* FROM (
              SELECT {CONTACT_COLUMNS} FROM whatsapp_contacts c WHERE c.id = :id
            ) c {_LAST_MESSAGE}""",
        id=contact_id,
    )


def last_message_of(row: Row) -> dict[str, Any] | None:
    """The message at the end of a list row (see _LAST_MESSAGE), as a message row."""
    if row["last_message_id"] is None:
        return None
    return dict(zip(_MESSAGE_FIELDS, row[-len(_MESSAGE_FIELDS) :], strict=True))


async def unread_counts(
    db: Database, profile_id: uuid.UUID, contact_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await fetch_all(
        db,
        f"SELECT c.id, {_UNREAD_COUNT} AS unread FROM unnest(CAST(:ids AS uuid[])) AS c(id)",
        ids=contact_ids,
        profile_id=profile_id,
    )
    return {r["id"]: int(r["unread"]) for r in rows}


async def mark_read(db: Database, profile_id: uuid.UUID, contact_id: uuid.UUID) -> datetime:
    """Move the profile's read mark past the contact's newest arrived message; return the
    time of the mark."""
    row = await fetch_one(
        db,
        """
        INSERT INTO whatsapp_contact_reads (profile_id, contact_id, read_at, read_arrival)
        SELECT :profile_id, :contact_id, GREATEST(NOW(), max(m.timestamp)),
               COALESCE(max(m.arrival), 0)
        FROM whatsapp_messages m WHERE m.contact_id = :contact_id
        ON CONFLICT (profile_id, contact_id)
        DO UPDATE SET read_at = GREATEST(whatsapp_contact_reads.read_at, EXCLUDED.read_at),
                      read_arrival = GREATEST(whatsapp_contact_reads.read_arrival,
                                              EXCLUDED.read_arrival)
        RETURNING read_at
        """,
        profile_id=profile_id,
        contact_id=contact_id,
    )
    assert row is not None
    read_at: datetime = row["read_at"]
    return read_at


async def interaction_summaries(db: Database, contact_ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db,
        """
        SELECT k.id AS contact_id,
               min(m.timestamp) AS first_message_at, max(m.timestamp) AS last_message_at,
               count(m.id) FILTER (WHERE NOT m.from_me) AS incoming,
               count(m.id) FILTER (WHERE m.from_me AND m.message_type <> 'note') AS outgoing,
               (SELECT max(a.sent_at) FROM whatsapp_auto_reply_log a
                WHERE a.contact_id = k.id) AS last_auto_reply_at
        FROM unnest(CAST(:ids AS uuid[])) AS k(id)
        LEFT JOIN whatsapp_messages m ON m.contact_id = k.id
        GROUP BY k.id
        """,
        ids=contact_ids,
    )
