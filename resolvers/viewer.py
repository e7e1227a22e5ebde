from __future__ import annotations

import strawberry

from resolvers.context import Info
from schema.profile import Profile
from services.errors import NotFound


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="The signed-in profile (created on its first request).")
    async def viewer(self, info: Info) -> Profile:
        principal = info.context.viewer
        row = await info.context.loaders.profile.load(principal.profile_id)
        if row is None:
            raise NotFound("Your profile could not be found")
        return Profile.from_row(row)
