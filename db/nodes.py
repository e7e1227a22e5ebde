"""Which table an id belongs to: every object the API shows has a UUID of its own table."""

from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, fetch_all

# Each table's rows by primary key (one index probe each), with whether the viewer may see
# them: rows of a number to its members (admins: all), profiles to themselves and to whoever
# shares a number with them, clients and quick messages to every signed-in user.
_LOCATE = """
WITH viewer AS (
  SELECT i.instance_id FROM whatsapp_instance_members i WHERE i.profile_id = :profile_id
)
SELECT c.id, 'Contact' AS kind,
       :is_admin OR c.instance_id IN (SELECT instance_id FROM viewer) AS visible
FROM whatsapp_contacts c WHERE c.id = ANY(:ids)
UNION ALL
SELECT m.id, 'Message', :is_admin OR m.instance_id IN (SELECT instance_id FROM viewer)
FROM whatsapp_messages m WHERE m.id = ANY(:ids)
UNION ALL
SELECT n.id, 'Instance', :is_admin OR n.id IN (SELECT instance_id FROM viewer)
FROM whatsapp_instances n WHERE n.id = ANY(:ids)
UNION ALL
SELECT p.id, 'Profile', :is_admin OR p.id = :profile_id OR EXISTS (
         SELECT 1 FROM whatsapp_instance_members o
         WHERE o.profile_id = p.id AND o.instance_id IN (SELECT instance_id FROM viewer))
FROM profiles p WHERE p.id = ANY(:ids)
UNION ALL
SELECT k.id, 'Client', true FROM clients k WHERE k.id = ANY(:ids)
UNION ALL
SELECT q.id, 'QuickMessage', true FROM whatsapp_quick_messages q WHERE q.id = ANY(:ids)
"""


async def locate(
    db: Database, ids: list[uuid.UUID], profile_id: uuid.UUID, is_admin: bool
) -> list[Row]:
    """(id, kind, visible) of each id found, in one statement; an id found nowhere is
    missing from the answer."""
    return await fetch_all(db, _LOCATE, ids=ids, profile_id=profile_id, is_admin=is_admin)
