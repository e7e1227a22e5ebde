"""Who may see and do what: the single place every resolver and subscription asks.

Rule: what you may not see does not exist for you (NOT_FOUND, so existence never leaks);
what you may see but not change is FORBIDDEN. Admins see and manage every instance; agents see
and answer only the instances they are members of.
"""

from __future__ import annotations

import uuid

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
