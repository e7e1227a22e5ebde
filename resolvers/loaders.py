"""Per-request DataLoaders: nested fields batch their lookups instead of querying per row.

Each loader is a batch call of a service (keys in, results in key order out).
"""

from __future__ import annotations

import uuid
from functools import cached_property

from strawberry.dataloader import DataLoader

from services.automation.quick_messages import quick_messages_by_id
from services.common.rows import Row
from services.identity.auth import Principal
from services.identity.profiles import profiles_by_id
from services.inbox.labels import labels_by_contact
from services.instances.lifecycle import instances_by_id
from services.instances.members import members_of
from services.messaging import conversations
from services.messaging.clients import clients_by_id
from services.platform.runtime import Runtime


class Loaders:
    """Built per request, and per event for a subscription; each loader is made on first use
    because a subscription event needs one or two of them, not all."""

    def __init__(self, runtime: Runtime, principal: Principal | None) -> None:
        self.db = runtime.db
        self.principal = principal

    @cached_property
    def profile(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: profiles_by_id(self.db, ids))

    @cached_property
    def instance(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: instances_by_id(self.db, ids))

    @cached_property
    def contact(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: conversations.contacts_by_id(self.db, ids))

    @cached_property
    def message(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: conversations.messages_by_id(self.db, ids))

    @cached_property
    def quoted_message(self) -> DataLoader[tuple[uuid.UUID, str], Row | None]:
        return DataLoader(lambda keys: conversations.messages_by_whatsapp_id(self.db, keys))

    @cached_property
    def client(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: clients_by_id(self.db, ids))

    @cached_property
    def quick_message(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: quick_messages_by_id(self.db, ids))

    @cached_property
    def interactions(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: conversations.interactions_by_contact(self.db, ids))

    @cached_property
    def last_message(self) -> DataLoader[uuid.UUID, Row | None]:
        return DataLoader(lambda ids: conversations.last_messages_by_contact(self.db, ids))

    @cached_property
    def labels(self) -> DataLoader[uuid.UUID, list[str]]:
        return DataLoader(lambda ids: labels_by_contact(self.db, ids))

    @cached_property
    def members(self) -> DataLoader[uuid.UUID, list[Row]]:
        return DataLoader(lambda ids: members_of(self.db, ids))

    @cached_property
    def unread_count(self) -> DataLoader[uuid.UUID, int]:
        return DataLoader(lambda ids: conversations.unread_counts(self.db, self.principal, ids))
