from __future__ import annotations

import strawberry
from starlette.datastructures import UploadFile

from resolvers.context import Info
from resolvers.inputs import given_fields, parse_id
from schema.conversation import Message
from schema.sending import (
    Presence,
    QuickMessage,
    QuickMessageInput,
    SendMessageInput,
    UpdateQuickMessageInput,
)
from services.automation import quick_messages
from services.errors import BadInput
from services.media import fetcher as media_fetcher
from services.media.sending import UploadedFile
from services.messaging import sending
from services.messaging.conversations import visible_contact


async def _read_upload(upload: object, field: str, limit: int) -> UploadedFile:
    if not isinstance(upload, UploadFile):
        raise BadInput(f"{field} must be a file upload", field=field)
    try:
        data = await upload.read(limit + 1)  # one byte over the limit is enough to refuse it
    finally:
        await upload.close()  # the form's spooled temporary file is ours to close
    return UploadedFile(data, upload.filename, upload.content_type)


@strawberry.type
class SendingQueries:
    @strawberry.field(
        description="Quick messages for the `/` autocomplete: shortcut prefix "
        "matches first, then matches in the text."
    )
    async def quick_messages(self, info: Info, search: str | None = None) -> list[QuickMessage]:
        rows = await quick_messages.search(info.context.runtime, info.context.viewer, search)
        return [QuickMessage.from_row(r) for r in rows]

    @strawberry.field(description="The quick message as it would be sent to this contact.")
    async def render_quick_message(
        self, info: Info, shortcut: str, contact_id: strawberry.ID
    ) -> str:
        runtime, viewer = info.context.runtime, info.context.viewer
        contact = await visible_contact(runtime, viewer, parse_id(contact_id, "contactId"))
        return await quick_messages.render_for_contact(runtime, viewer, shortcut, contact)


@strawberry.type
class SendingMutations:
    @strawberry.mutation(
        description="Queue a message: it returns at once as PENDING; status "
        "changes arrive through messageEvents."
    )
    async def send_message(self, info: Info, input: SendMessageInput) -> Message:
        limit = info.context.runtime.settings.media_max_bytes
        audio = await _read_upload(input.audio, "audio", limit) if input.audio else None
        media = await _read_upload(input.media, "media", limit) if input.media else None
        row = await sending.send_message(
            info.context.runtime,
            info.context.viewer,
            instance_id=parse_id(input.instance_id, "instanceId"),
            contact_id=parse_id(input.contact_id, "contactId"),
            message_type=input.message_type.value,
            text=input.text_content,
            audio_url=input.audio_url,
            audio=audio,
            media=media,
            media_url=input.media_url,
            caption=input.caption,
            file_name=input.file_name,
            quoted_message_id=input.quoted_message_id,
            quick_message_shortcut=input.quick_message_shortcut,
            idempotency_key=input.idempotency_key,
        )
        return Message.from_row(row)

    @strawberry.mutation(description="Send a FAILED message again.")
    async def retry_message(self, info: Info, id: strawberry.ID) -> Message:
        row = await sending.retry_message(info.context.runtime, info.context.viewer, parse_id(id))
        return Message.from_row(row)

    @strawberry.mutation(
        description="Fetch an UNAVAILABLE media file again (after Evolution "
        "API was fixed, say): mediaState becomes PENDING, and "
        "messageEvents tells when it is READY or UNAVAILABLE."
    )
    async def retry_media(self, info: Info, id: strawberry.ID) -> Message:
        row = await media_fetcher.fetch_again(
            info.context.runtime, info.context.viewer, parse_id(id)
        )
        return Message.from_row(row)

    @strawberry.mutation(description="Show 'typing…' or 'recording audio…' to the contact.")
    async def send_presence(
        self, info: Info, contact_id: strawberry.ID, presence: Presence
    ) -> bool:
        return await sending.send_presence(
            info.context.runtime,
            info.context.viewer,
            parse_id(contact_id, "contactId"),
            presence.value,
        )

    @strawberry.mutation
    async def create_quick_message(self, info: Info, input: QuickMessageInput) -> QuickMessage:
        row = await quick_messages.create(
            info.context.runtime,
            info.context.viewer,
            input.shortcut,
            input.message_text,
            input.description,
        )
        return QuickMessage.from_row(row)

    @strawberry.mutation
    async def update_quick_message(
        self, info: Info, id: strawberry.ID, input: UpdateQuickMessageInput
    ) -> QuickMessage:
        row = await quick_messages.update(
            info.context.runtime, info.context.viewer, parse_id(id), given_fields(input)
        )
        return QuickMessage.from_row(row)

    @strawberry.mutation
    async def delete_quick_message(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        await quick_messages.delete(info.context.runtime, info.context.viewer, parse_id(id))
        return id
