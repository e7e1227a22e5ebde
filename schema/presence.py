from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry


@strawberry.enum(
    description="What a contact is doing in the chat: typing (COMPOSING), recording a voice "
    "note (RECORDING), stopped (PAUSED), online (AVAILABLE) or gone (UNAVAILABLE)."
)
class ContactPresence(Enum):
    COMPOSING = "composing"
    RECORDING = "recording"
    PAUSED = "paused"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"


@strawberry.type(description="A contact's presence, as WhatsApp just told it. Never stored.")
class PresenceEvent:
    contact_id: strawberry.ID
    presence: ContactPresence
    at: datetime = strawberry.field(description="When the server received it.")
    last_seen: datetime | None = strawberry.field(
        description="When the contact was last online, if WhatsApp said (UNAVAILABLE)."
    )
