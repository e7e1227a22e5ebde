"""Privacy mutations (LGPD): erase a person's data; export it through a signed link."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_id
from schema.privacy import DataExport
from services.media import links
from services.privacy import erase, export


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(
        description="A copy of everything kept about a contact (LGPD art. 18): a signed link, "
        "valid for 15 minutes, to one zip with dados.json (contact, client link, messages "
        "with status and timestamps, notes, labels) and the media files. Agents export "
        "contacts of their numbers."
    )
    async def export_contact_data(self, info: Info, contact_id: strawberry.ID) -> DataExport:
        runtime = info.context.runtime
        made = await export.request_export(
            runtime, info.context.viewer, parse_id(contact_id, "contactId")
        )
        base = runtime.settings.app_url or str(info.context.request.base_url)
        return DataExport(url=links.absolute(base, made.path), expires_at=made.expires_at)

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
