"""Per-request DataLoaders: nested fields batch their lookups instead of querying per row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from db import profiles as profiles_db
from db.sql import Row
from services.auth import Principal
from services.runtime import Runtime

K = TypeVar("K")


def by_key(
    fetch: Callable[[list[K]], Awaitable[Sequence[Row]]], key: str = "id"
) -> Callable[[list[K]], Awaitable[list[Row | None]]]:
    """Wrap a "many by keys" query so results come back in key order, None for a miss."""

    async def load(keys: list[K]) -> list[Row | None]:
        rows = {row[key]: row for row in await fetch(keys)}
        return [rows.get(k) for k in keys]

    return load


class Loaders:
    def __init__(self, runtime: Runtime, principal: Principal | None) -> None:
        db = runtime.db
        self.runtime = runtime
        self.principal = principal
        self.profile: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: profiles_db.get_profiles(db, ids))
        )
