from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from resolvers.context import Info
from resolvers.inputs import given_fields, parse_id
from schema.conversation import (
    Availability,
    Client,
    ClientConnection,
    ClientEdge,
    Contact,
    CreateClientInput,
    UpdateContactInput,
    page_info,
)
from services.automation.autoreply import availability
from services.instances import lifecycle as instances_service
from services.messaging import clients as service


@strawberry.type
class ClientQueries:
    @strawberry.field(
        description="Clients for the picker, by name; `search` matches name, "
        "phone in any format, or document."
    )
    async def clients(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> ClientConnection:
        page = await service.list_clients(
            info.context.runtime, info.context.viewer, search, first, after
        )
        return ClientConnection(
            edges=[
                ClientEdge(cursor=c, node=Client.from_row(r))
                for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=page_info(page),
        )

    @strawberry.field(description="Whether the number is within business hours now.")
    async def availability(self, info: Info, instance_id: strawberry.ID) -> Availability:
        runtime = info.context.runtime
        settings = await instances_service.get_settings(
            runtime, info.context.viewer, parse_id(instance_id, "instanceId")
        )
        default = runtime.settings.business_timezone
        available, next_at = availability(settings, default, datetime.now(UTC))
        return Availability(
            is_available_now=available,
            next_available_at=next_at,
            timezone=settings["timezone"] or default,
        )


@strawberry.type
class ClientMutations:
    @strawberry.mutation(description="Classify, link to a client (null unlinks), or rename.")
    async def update_contact(
        self, info: Info, id: strawberry.ID, input: UpdateContactInput
    ) -> Contact:
        changes = given_fields(input)
        if "contact_type" in changes:
            kind = changes["contact_type"]
            changes["contact_type"] = getattr(kind, "value", kind)
        if changes.get("client_id") is not None:
            changes["client_id"] = parse_id(changes["client_id"], "clientId")  # type: ignore[arg-type]
        row = await service.update_contact(
            info.context.runtime, info.context.viewer, parse_id(id), changes
        )
        return Contact.from_row(row)

    @strawberry.mutation(description="Create a client from the contact and link them.")
    async def create_client_from_contact(
        self, info: Info, contact_id: strawberry.ID, input: CreateClientInput
    ) -> Contact:
        row = await service.create_client_from_contact(
            info.context.runtime,
            info.context.viewer,
            parse_id(contact_id, "contactId"),
            given_fields(input),
        )
        return Contact.from_row(row)
