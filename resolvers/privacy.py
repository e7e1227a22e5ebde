"""Privacy mutations (LGPD): erase a person's data; export it through a signed link."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_id
from services.privacy import erase


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(
        description="Erase everything kept about a contact (admins; LGPD art. 18): its "
        "messages, media files, notes, labels and the contact itself. `reason` is required "
        "(at most 500 characters) and kept in the privacy log. Returns the erased contact's "
        "id; contactEvents says DELETED. A later message from the same number starts a new "
        "contact."
    )
    async def erase_contact(
        self, info: Info, contact_id: strawberry.ID, reason: str
    ) -> strawberry.ID:
        erased = await erase.erase_contact(
            info.context.runtime, info.context.viewer, parse_id(contact_id, "contactId"), reason
        )
        return strawberry.ID(str(erased))
