"""Conversation reports, computed from the stored messages and the conversation log.

A conversation is a cycle of a contact's chat: it opens at a log row of kind 'opened' (the
customer's first message, or a reopening) and holds the messages stored (`created_at`) until
the contact's next opening; the opening message is stored in the same transaction as its log
row, so at the same instant. WhatsApp's own times have whole seconds and come from the phone's
clock: they measure durations, never decide which cycle a message is in. A cycle's first
response is the first reply (ours, not a note, auto-reply, reaction or failed message) that
arrived after its first incoming message; its resolution the first change to 'resolved' in it.
Everything is `timestamptz` arithmetic, so periods and durations mean the same in every time
zone. Each cycle costs a few index probes (log by contact, messages by contact and time), so a
report costs what its period holds, not what the database holds.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from databases import Database

from db.sql import Row, fetch_all

# Cycles opened in [:from, :to) on :ids, with their first incoming message, first reply (and
# who gave it) and resolution.
_CYCLES = """
  SELECT o.id, o.instance_id, o.contact_id, o.at AS opened_at, nx.at AS next_at,
         fi.timestamp AS first_in_at, fr.timestamp AS first_reply_at, fr.sent_by AS responder,
         rs.at AS resolved_at,
         -- GREATEST ignores a NULL: an unanswered (unresolved) cycle must stay NULL, not 0.
         CAST(CASE WHEN fr.timestamp IS NOT NULL
                   THEN GREATEST(EXTRACT(EPOCH FROM fr.timestamp - fi.timestamp), 0) END AS float8)
           AS first_response_seconds,
         CAST(CASE WHEN rs.at IS NOT NULL THEN GREATEST(EXTRACT(EPOCH FROM rs.at - o.at), 0) END
              AS float8) AS resolution_seconds
  FROM whatsapp_conversation_log o
  LEFT JOIN LATERAL (
    SELECT n.id, n.at FROM whatsapp_conversation_log n
    WHERE n.contact_id = o.contact_id AND n.id > o.id AND n.kind = 'opened'
    ORDER BY n.id LIMIT 1
  ) nx ON true
  LEFT JOIN LATERAL (
    SELECT m.timestamp, m.arrival FROM whatsapp_messages m
    WHERE m.contact_id = o.contact_id AND NOT m.from_me
      AND m.timestamp >= o.at - interval '1 day'  -- bounds the index scan (clock skew aside)
      AND m.created_at >= o.at AND (nx.at IS NULL OR m.created_at < nx.at)
      AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'
    ORDER BY m.timestamp, m.arrival LIMIT 1
  ) fi ON true
  LEFT JOIN LATERAL (
    SELECT m.timestamp, m.sent_by FROM whatsapp_messages m
    WHERE m.contact_id = o.contact_id AND m.from_me AND m.arrival > fi.arrival
      AND m.timestamp >= fi.timestamp - interval '1 day'
      AND (nx.at IS NULL OR m.created_at < nx.at)
      AND m.message_type <> 'note' AND m.status <> 'failed'
      AND COALESCE(m.metadata->>'kind', '') NOT IN ('auto_reply', 'reaction')
    ORDER BY m.timestamp, m.arrival LIMIT 1
  ) fr ON true
  LEFT JOIN LATERAL (
    SELECT r.at FROM whatsapp_conversation_log r
    WHERE r.contact_id = o.contact_id AND r.id > o.id AND (nx.id IS NULL OR r.id < nx.id)
      AND r.kind = 'status' AND r.status = 'resolved'
    ORDER BY r.id LIMIT 1
  ) rs ON true
  WHERE o.instance_id = ANY(:ids) AND o.kind = 'opened' AND o.at >= :from AND o.at < :to
"""


async def conversation_figures(
    db: Database, ids: list[uuid.UUID], start: datetime, end: datetime
) -> list[Row]:
    """Conversations opened in the period: all of them (`agent` null, `overall` true) and per
    first responder: count, and first response p50/p90 in seconds."""
    return await fetch_all(
        db,
        f"""
        SELECT GROUPING(c.responder) = 1 AS overall, c.responder AS agent,
               count(*) AS conversations,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY c.first_response_seconds) AS p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY c.first_response_seconds) AS p90
        FROM ({_CYCLES}) c
        GROUP BY GROUPING SETS ((), (c.responder))
        """,
        ids=ids,
        **{"from": start, "to": end},
    )


async def resolution_figures(
    db: Database, ids: list[uuid.UUID], start: datetime, end: datetime
) -> list[Row]:
    """Resolutions in the period, overall and per agent (the assignee then, else who resolved),
    with the time from the conversation's opening, p50/p90 in seconds."""
    return await fetch_all(
        db,
        """
        SELECT GROUPING(x.agent) = 1 AS overall, x.agent, count(*) AS resolved,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.seconds) AS p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY x.seconds) AS p90
        FROM (
          SELECT COALESCE(r.assignee_id, r.actor_id) AS agent,
                 CAST(GREATEST(EXTRACT(EPOCH FROM r.at - op.at), 0) AS float8) AS seconds
          FROM whatsapp_conversation_log r
          LEFT JOIN LATERAL (
            SELECT o.at FROM whatsapp_conversation_log o
            WHERE o.contact_id = r.contact_id AND o.id < r.id AND o.kind = 'opened'
            ORDER BY o.id DESC LIMIT 1
          ) op ON true
          WHERE r.instance_id = ANY(:ids) AND r.kind = 'status' AND r.status = 'resolved'
            AND r.at >= :from AND r.at < :to
        ) x
        GROUP BY GROUPING SETS ((), (x.agent))
        """,
        ids=ids,
        **{"from": start, "to": end},
    )


async def message_figures(
    db: Database, ids: list[uuid.UUID], start: datetime, end: datetime
) -> list[Row]:
    """Messages of the period (by WhatsApp time), overall and per agent who sent them; notes
    are not messages. Read from idx_whatsapp_messages_instance_time alone."""
    return await fetch_all(
        db,
        """
        SELECT GROUPING(m.sent_by) = 1 AS overall, m.sent_by AS agent,
               count(*) FILTER (WHERE NOT m.from_me) AS received,
               count(*) FILTER (WHERE m.from_me AND m.message_type <> 'note') AS sent
        FROM whatsapp_messages m
        WHERE m.instance_id = ANY(:ids) AND m.timestamp >= :from AND m.timestamp < :to
        GROUP BY GROUPING SETS ((), (m.sent_by))
        """,
        ids=ids,
        **{"from": start, "to": end},
    )


async def conversation_rows(
    db: Database, ids: list[uuid.UUID], start: datetime, end: datetime
) -> list[Row]:
    """One row per conversation opened in the period, oldest first, for the CSV export."""
    return await fetch_all(
        db,
        f"""
        SELECT c.*, i.display_name AS instance_name, k.name AS contact_name,
               k.phone_number, k.conversation_status AS status_now,
               p.full_name AS responder_name, a.full_name AS assignee_name,
               n.received, n.sent
        FROM ({_CYCLES}) c
        JOIN whatsapp_instances i ON i.id = c.instance_id
        JOIN whatsapp_contacts k ON k.id = c.contact_id
        LEFT JOIN profiles p ON p.id = c.responder
        LEFT JOIN profiles a ON a.id = k.assignee_id
        CROSS JOIN LATERAL (
          SELECT count(*) FILTER (WHERE NOT m.from_me) AS received,
                 count(*) FILTER (WHERE m.from_me AND m.message_type <> 'note') AS sent
          FROM whatsapp_messages m
          WHERE m.contact_id = c.contact_id AND m.timestamp >= c.opened_at - interval '1 day'
            AND m.created_at >= c.opened_at AND (c.next_at IS NULL OR m.created_at < c.next_at)
        ) n
        ORDER BY c.opened_at, c.id
        """,
        ids=ids,
        **{"from": start, "to": end},
    )


async def all_instance_ids(db: Database) -> list[uuid.UUID]:
    return [r["id"] for r in await fetch_all(db, "SELECT id FROM whatsapp_instances")]
