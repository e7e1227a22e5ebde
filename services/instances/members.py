"""Who answers which number: admins add and remove agents as members of an instance."""

from __future__ import annotations

import uuid

from databases import Database

from db import members as members_db, profiles as profiles_db
from services.common.rows import Row
from services.errors import BadInput
from services.identity import access
from services.identity.auth import Principal
from services.platform.capabilities import WithDatabase


async def add_member(
    runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID, profile_id: uuid.UUID
) -> None:
    await access.managed_instance(runtime.db, principal, instance_id, "manage members")
    if await profiles_db.get_profile(runtime.db, profile_id) is None:
        raise BadInput(
            "profileId is not a known profile (it exists after its first sign-in)",
            field="profileId",
        )
    await members_db.add_member(runtime.db, instance_id, profile_id, principal.profile_id)


async def remove_member(
    runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID, profile_id: uuid.UUID
) -> None:
    await access.managed_instance(runtime.db, principal, instance_id, "manage members")
    await members_db.remove_member(runtime.db, instance_id, profile_id)


async def members_of(db: Database, instance_ids: list[uuid.UUID]) -> list[list[Row]]:
    """A batch read for DataLoaders: each instance's members, in the order of `instance_ids`."""
    rows = await members_db.list_members(db, instance_ids)
    return [[r for r in rows if r["instance_id"] == i] for i in instance_ids]
