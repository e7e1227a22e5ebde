"""Profiles are created from the first authenticated request of each token subject."""

from __future__ import annotations

import uuid

from databases import Database

from db import profiles as profiles_db
from services.common.rows import Row, in_key_order
from services.identity.auth import Principal


class ProfileRegistry:
    """Remembers which principals are already stored, so a request costs no write."""

    def __init__(self) -> None:
        self._seen: set[tuple[uuid.UUID, str, str | None, str | None]] = set()

    async def ensure(self, db: Database, principal: Principal) -> None:
        key = (principal.profile_id, principal.role, principal.email, principal.name)
        if key in self._seen:
            return
        await profiles_db.upsert_profile(
            db, principal.profile_id, principal.role, principal.email, principal.name
        )
        self._seen.add(key)


async def profiles_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    """A batch read for DataLoaders: the profiles in the order of `ids`, None for a miss."""
    return in_key_order(await profiles_db.get_profiles(db, ids), ids)
