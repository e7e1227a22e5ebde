"""Full-text search over message text (migration 0010: the functions and the GIN index)."""

from __future__ import annotations

import uuid
from datetime import datetime

from databases import Database

from db.messages import MESSAGE_COLUMNS
from db.sql import Row, fetch_all_planned_with_values

# The match must be written exactly as the index expression of idx_whatsapp_messages_search,
# with its predicate repeated, or PostgreSQL cannot use the index.
SEARCH_MESSAGES = f"""
SELECT {MESSAGE_COLUMNS} FROM whatsapp_messages m
WHERE m.instance_id = :instance_id
  AND m.deleted_at IS NULL AND m.text_content IS NOT NULL
  AND atendimento_message_tsv(m.text_content) @@ atendimento_search_query(:query)
  AND (CAST(:after_ts AS timestamptz) IS NULL
       OR (m.timestamp, m.arrival) < (:after_ts, CAST(:after_arrival AS bigint)))
ORDER BY m.timestamp DESC, m.arrival DESC
LIMIT :limit
"""


async def search_messages(
    db: Database,
    instance_id: uuid.UUID,
    query: str,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row]:
    """Messages of the number whose text matches `query` (web-search syntax: words, "a
    phrase", -excluded, or), newest first, keyset on (timestamp, arrival) as the chat's own
    pages. A query of stop words alone matches nothing.

    Planned with the values: a rare word is best found through the GIN index, a word in most
    messages by walking the newest ones until the page is full."""
    return await fetch_all_planned_with_values(
        db,
        SEARCH_MESSAGES,
        instance_id=instance_id,
        query=query,
        after_ts=after[0] if after else None,
        after_arrival=after[1] if after else None,
        limit=limit,
    )
