"""Per-request DataLoaders: nested fields batch their lookups instead of querying per row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from db import (
    clients as clients_db,
    contacts as contacts_db,
    instances as instances_db,
    members as members_db,
    messages as messages_db,
    profiles as profiles_db,
)
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
        self.profile: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: profiles_db.get_profiles(db, ids)))
        self.instance: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: instances_db.get_instances(db, ids)))
        self.contact: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: contacts_db.get_contacts(db, ids)))
        self.message: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: messages_db.get_messages(db, ids)))
        self.client: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: clients_db.get_clients(db, ids)))
        self.interactions: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: contacts_db.interaction_summaries(db, ids), key="contact_id"))
        self.last_message: DataLoader[uuid.UUID, Row | None] = DataLoader(
            by_key(lambda ids: messages_db.last_messages(db, ids), key="contact_id"))

        async def members(ids: list[uuid.UUID]) -> list[list[Row]]:
            rows = await members_db.list_members(db, ids)
            return [[r for r in rows if r["instance_id"] == i] for i in ids]

        self.members: DataLoader[uuid.UUID, list[Row]] = DataLoader(members)

        async def unread(ids: list[uuid.UUID]) -> list[int]:
            if principal is None:
                return [0] * len(ids)
            counts = await contacts_db.unread_counts(db, principal.profile_id, ids)
            return [counts.get(i, 0) for i in ids]

        self.unread_count: DataLoader[uuid.UUID, int] = DataLoader(unread)
