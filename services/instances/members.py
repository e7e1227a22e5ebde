"""Who answers which number: admins add and remove agents as members of an instance."""

from __future__ import annotations

import uuid

from db import members as members_db, profiles as profiles_db
from services.errors import BadInput
from services.identity import access
from services.identity.auth import Principal
from services.platform.runtime import Runtime


async def add_member(runtime: Runtime, principal: Principal, instance_id: uuid.UUID,
                     profile_id: uuid.UUID) -> None:
    await access.managed_instance(runtime.db, principal, instance_id, "manage members")
    if await profiles_db.get_profile(runtime.db, profile_id) is None:
        raise BadInput("profileId is not a known profile (it exists after its first sign-in)",
                       field="profileId")
    await members_db.add_member(runtime.db, instance_id, profile_id, principal.profile_id)


async def remove_member(runtime: Runtime, principal: Principal, instance_id: uuid.UUID,
                        profile_id: uuid.UUID) -> None:
    await access.managed_instance(runtime.db, principal, instance_id, "manage members")
    await members_db.remove_member(runtime.db, instance_id, profile_id)
