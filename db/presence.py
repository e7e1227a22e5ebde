"""Lookups for presence (typing) events, which are never stored."""

from __future__ import annotations

import uuid

from databases import Database

from db.sql import fetch_val


async def contact_id_for_jids(
    db: Database, instance_id: uuid.UUID, jids: list[str]
) -> uuid.UUID | None:
    """The contact of the number known by one of `jids` (its chat JID or its privacy id), or
    None: a presence creates no contact. Reads without locking anything."""
    value = await fetch_val(
        db,
        """
        SELECT c.id FROM whatsapp_contacts c
        WHERE c.instance_id = :instance_id
          AND (c.remote_jid = ANY(:jids) OR c.lid_jid = ANY(:jids))
        ORDER BY c.remote_jid = ANY(:jids) DESC, c.created_at
        LIMIT 1
        """,
        instance_id=instance_id,
        jids=jids,
    )
    return value if isinstance(value, uuid.UUID) else None
