"""Per-request DataLoaders: nested fields batch their lookups instead of querying per row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
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
from services.identity.auth import Principal
from services.platform.runtime import Runtime

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
    """Built per request, and per event for a subscription; each loader is made on first use
    because a subscription event needs one or two of them, not all."""

    def __init__(self, runtime: Runtime, principal: Principal | None) -> None:
        self.db = runtime.db
        self.principal = principal

    @cached_property
    def profile(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: profiles_db.get_profiles(self.db, ids)))

    @cached_property
    def instance(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: instances_db.get_instances(self.db, ids)))

    @cached_property
    def contact(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: contacts_db.get_contacts(self.db, ids)))

    @cached_property
    def message(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: messages_db.get_messages(self.db, ids)))

    @cached_property
    def client(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: clients_db.get_clients(self.db, ids)))

    @cached_property
    def interactions(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: contacts_db.interaction_summaries(self.db, ids),
                                 key="contact_id"))

    @cached_property
    def last_message(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(by_key(lambda ids: messages_db.last_messages(self.db, ids),
                                 key="contact_id"))

    @cached_property
    def members(self) -> DataLoader[uuid.UUID, list[Row]]:
        async def members(ids: list[uuid.UUID]) -> list[list[Row]]:
            rows = await members_db.list_members(self.db, ids)
            return [[r for r in rows if r["instance_id"] == i] for i in ids]

        return DataLoader(members)

    @cached_property
    def unread_count(self) -> DataLoader[uuid.UUID, int]:
        principal = self.principal

        async def unread(ids: list[uuid.UUID]) -> list[int]:
            if principal is None:
                return [0] * len(ids)
            counts = await contacts_db.unread_counts(self.db, principal.profile_id, ids)
            return [counts.get(i, 0) for i in ids]

        return DataLoader(unread)
