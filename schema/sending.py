from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.file_uploads import Upload

from schema.common import Node
from services.common.rows import Row


@strawberry.enum(description="What sendMessage can send.")
class OutgoingMessageType(Enum):
    TEXT = "text"
    AUDIO = "audio"
    IMAGE = "image"
    DOCUMENT = "document"
    VIDEO = "video"


@strawberry.enum
class Presence(Enum):
    COMPOSING = "composing"
    RECORDING = "recording"
    PAUSED = "paused"


@strawberry.input
class SendMessageInput:
    instance_id: strawberry.ID
    contact_id: strawberry.ID
    message_type: OutgoingMessageType = OutgoingMessageType.TEXT
    text_content: str | None = None
    audio_url: str | None = strawberry.field(
        default=None,
        description="A public URL of the audio; Evolution converts it to a voice "
        "note. (mediaUrl works too.)",
    )
    audio: Upload | None = strawberry.field(
        default=None,
        description="The recording itself, in any browser format (webm/opus, "
        "mp4/aac, ogg, wav, mp3); GraphQL multipart upload. (media "
        "works too.)",
    )
    media: Upload | None = strawberry.field(
        default=None,
        description="The file of an IMAGE, DOCUMENT, VIDEO or AUDIO message "
        "(GraphQL multipart upload, at most MEDIA_MAX_BYTES), checked "
        "by its content: IMAGE JPEG/PNG/WebP/GIF, VIDEO MP4/3GP/MOV, "
        "DOCUMENT any known type or plain text.",
    )
    media_url: str | None = strawberry.field(
        default=None,
        description="Instead of an upload: a public http(s) URL that Evolution API downloads.",
    )
    caption: str | None = strawberry.field(
        default=None,
        description="Text shown under an IMAGE, DOCUMENT or VIDEO (textContent "
        "is accepted instead).",
    )
    file_name: str | None = strawberry.field(
        default=None,
        description="The name the contact sees for a DOCUMENT (default: the upload's name).",
    )
    quoted_message_id: str | None = strawberry.field(
        default=None, description="The message to reply to: its id or its WhatsApp messageId."
    )
    quick_message_shortcut: str | None = strawberry.field(
        default=None, description="Send this quick message, rendered for the contact."
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="Sending again with the same key returns the first message."
    )


@strawberry.type(description="A reusable reply, typed as /shortcut.")
class QuickMessage(Node):
    id: strawberry.ID
    shortcut: str
    message_text: str
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> QuickMessage:
        return cls(
            id=strawberry.ID(str(row["id"])),
            shortcut=row["shortcut"],
            message_text=row["message_text"],
            description=row["description"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.input
class QuickMessageInput:
    shortcut: str
    message_text: str
    description: str | None = None


@strawberry.input
class UpdateQuickMessageInput:
    shortcut: str | None = strawberry.UNSET
    message_text: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
