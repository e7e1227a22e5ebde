from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_id
from schema.presence import ContactPresence, PresenceEvent
from services.messaging import presence as service


@strawberry.type
class PresenceSubscriptions:
    @strawberry.subscription(
        description="Contacts of a number typing, recording, pausing, coming online or "
        "going away; live only (never stored, nothing to resume). With "
        "contactId (the chat on screen), that contact's only, and the "
        "server asks WhatsApp for that chat's presence: WhatsApp tells it "
        "only for chats the number subscribed to."
    )
    async def presence_events(
        self, info: Info, instance_id: strawberry.ID, contact_id: strawberry.ID | None = None
    ) -> AsyncGenerator[PresenceEvent, None]:
        context = info.context
        changes = service.presence_changes(
            context.runtime,
            context.viewer,
            parse_id(instance_id, "instanceId"),
            parse_id(contact_id, "contactId") if contact_id is not None else None,
        )
        async for change in changes:
            if context.token_expired():
                return  # nothing more for a token that expired (an HTTP stream ends here)
            yield PresenceEvent(
                contact_id=strawberry.ID(str(change.contact_id)),
                presence=ContactPresence(change.presence),
                at=change.at,
                last_seen=change.last_seen,
            )
