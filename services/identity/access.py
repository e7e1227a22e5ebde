"""Who may see and do what: the single place every resolver and subscription asks.

Rule: what you may not see does not exist for you (NOT_FOUND, so existence never leaks);
what you may see but not change is FORBIDDEN. Admins see and manage every instance; agents see
and answer only the instances they are members of. Live events follow the same rule per event:
a subscription re-checks membership (`MembershipWatch`), and a deleted number is announced only
to whoever was shown it (`InstanceEventFilter`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from databases import Database

from db import instances as instances_db
from db.sql import Row
from services.errors import Forbidden, NotFound
from services.identity.auth import Principal


def require_admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise Forbidden(f"Only administrators can {action}")


async def can_access_instance(db: Database, principal: Principal, instance_id: uuid.UUID) -> bool:
    return principal.is_admin or await instances_db.is_member(db, instance_id, principal.profile_id)


async def visible_instance(db: Database, principal: Principal, instance_id: uuid.UUID) -> Row:
    row = await instances_db.get_instance(db, instance_id)
    if row is None or not await can_access_instance(db, principal, instance_id):
        raise NotFound("Instance not found", id=str(instance_id))
    return row


async def managed_instance(
    db: Database, principal: Principal, instance_id: uuid.UUID, action: str
) -> Row:
    row = await visible_instance(db, principal, instance_id)
    require_admin(principal, action)
    return row


def visible_profile_filter(principal: Principal) -> uuid.UUID | None:
    """For list queries: None lists everything (admins), else only the member's instances."""
    return None if principal.is_admin else principal.profile_id


async def visible_instances(db: Database, principal: Principal) -> list[Row]:
    """The instances the principal sees, by display name."""
    return await instances_db.list_instances(db, visible_profile_filter(principal))


async def find_visible_instance(
    db: Database, principal: Principal, instance_id: uuid.UUID
) -> Row | None:
    """The instance, or None when it does not exist or the principal may not see it."""
    row = await instances_db.get_instance(db, instance_id)
    if row is None or not await can_access_instance(db, principal, instance_id):
        return None
    return row


# How long a subscription trusts its last membership check before asking again.
ACCESS_RECHECK_SECONDS = 5.0


class MembershipWatch:
    """A live subscription's right to one instance: checked at the start, then again at most
    every ACCESS_RECHECK_SECONDS, so a removed member stops receiving within that time without
    a query per event."""

    def __init__(
        self,
        db: Database,
        principal: Principal,
        instance_id: uuid.UUID,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.principal, self.instance_id, self.clock = db, principal, instance_id, clock
        self.checked = float("-inf")

    async def start(self) -> Row:
        """The instance, or NotFound when the principal may not see it."""
        row = await visible_instance(self.db, self.principal, self.instance_id)
        self.checked = self.clock()
        return row

    def due(self) -> bool:
        """Whether the next `still_allowed` asks the database."""
        return self.clock() - self.checked > ACCESS_RECHECK_SECONDS

    async def still_allowed(self) -> bool:
        if not self.due():
            return True
        if not await can_access_instance(self.db, self.principal, self.instance_id):
            return False
        self.checked = self.clock()
        return True


class InstanceEventFilter:
    """Which instance events one subscriber receives: a change only of an instance it may see
    now (checked per event), a deletion only of one it was shown before (or any, for admins),
    since after the deletion there is no membership left to check."""

    def __init__(self, db: Database, principal: Principal) -> None:
        self.db, self.principal = db, principal
        self.shown: set[uuid.UUID] = set()

    def sees_deletion(self, instance_id: uuid.UUID) -> bool:
        return self.principal.is_admin or instance_id in self.shown

    async def visible(self, instance_id: uuid.UUID) -> Row | None:
        row = await find_visible_instance(self.db, self.principal, instance_id)
        if row is not None:
            self.shown.add(instance_id)
        return row
