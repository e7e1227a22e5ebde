"""Profiles are created from the first authenticated request of each token subject."""

from __future__ import annotations

import uuid

from cachetools import LRUCache
from databases import Database

from db import profiles as profiles_db
from services.common.rows import Row, in_key_order
from services.identity.auth import Principal


class ProfileRegistry:
    """Remembers which principals are already stored, so a request costs no write.

    Memory is bounded: users edit their own names, so one user can be many keys. Past
    `max_keys` the least recently seen one goes; its next request writes again (an upsert).
    """

    def __init__(self, max_keys: int = 10_000) -> None:
        self._seen: LRUCache[tuple[uuid.UUID, str, str | None, str | None], bool] = LRUCache(
            maxsize=max_keys
        )

    async def ensure(self, db: Database, principal: Principal) -> None:
        key = (principal.profile_id, principal.role, principal.email, principal.name)
        if self._seen.get(key):  # `get`, not `in`: a hit counts as a recent use
            return
        await profiles_db.upsert_profile(
            db, principal.profile_id, principal.role, principal.email, principal.name
        )
        self._seen[key] = True

    def __len__(self) -> int:
        return len(self._seen)


async def profiles_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    """A batch read for DataLoaders: the profiles in the order of `ids`, None for a miss."""
    return in_key_order(await profiles_db.get_profiles(db, ids), ids)
