"""`node(id)`: any object by the id it was shown with, under the rules of its own lookup.

Ids stay the UUIDs each table gives its rows (they were already in clients' caches and URLs),
so finding an object is a lookup across the tables, in one statement (db/nodes.py). What does
not exist and what the viewer may not see answer alike: None (see access.py).
"""

from __future__ import annotations

import uuid

from db import nodes as nodes_db
from services.errors import BadInput
from services.identity.auth import Principal
from services.platform.capabilities import WithDatabase

MAX_NODES = 100


async def kinds_of(
    runtime: WithDatabase, principal: Principal, keys: list[uuid.UUID]
) -> list[str | None]:
    """For each id, in order: the name of its type when it exists and the viewer may see
    it, else None."""
    if len(keys) > MAX_NODES:
        raise BadInput(f"ids takes at most {MAX_NODES} ids", field="ids")
    if not keys:
        return []
    rows = await nodes_db.locate(
        runtime.db, list(set(keys)), principal.profile_id, principal.is_admin
    )
    found = {row["id"]: row["kind"] for row in rows if row["visible"]}
    return [found.get(key) for key in keys]
