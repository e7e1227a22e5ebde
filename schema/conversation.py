from __future__ import annotations

import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.context import Info
from schema.common import Node, PageInfo
from schema.executor import SharedResults, null_unless, per_viewer
from schema.profile import Profile
from services.common.pagination import Page
from services.common.rows import Row
from services.messaging.conversations import NOT_READ, ListedContact, NotRead, message_cursor


@strawberry.enum
class ContactType(Enum):
    CLIENTE = "cliente"
    LEAD = "lead"
    PROFISSIONAL = "profissional"
    PRESTADOR = "prestador"
    UNKNOWN = "unknown"


@strawberry.enum
class MessageType(Enum):
    TEXT = "text"
    AUDIO = "audio"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"
    NOTE = "note"


@strawberry.enum(
    description="Where a conversation stands: OPEN (being handled), PENDING (waiting, e.g. "
    "on the customer or a third party), RESOLVED (done; an incoming message reopens it)."
)
class ConversationStatus(Enum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


@strawberry.enum(
    description="Whose conversations: ME (assigned to the viewer), UNASSIGNED, or ANY."
)
class AssigneeFilter(Enum):
    ME = "ME"
    UNASSIGNED = "UNASSIGNED"
    ANY = "ANY"


@strawberry.enum(
    description="Where a message's media file is: PENDING while it is being fetched "
    "from WhatsApp, READY to play (mediaUrl), or UNAVAILABLE (see "
    "mediaError)."
)
class MediaState(Enum):
    PENDING = "pending"
    READY = "ready"
    UNAVAILABLE = "unavailable"


@strawberry.enum(
    description="How mediaUrl serves audio. ORIGINAL as received (WhatsApp voice "
    "notes are OGG/Opus, which Safari does not play); M4A (AAC) and MP3 "
    "play in every browser, converted on first use."
)
class AudioFormat(Enum):
    ORIGINAL = "original"
    M4A = "m4a"
    MP3 = "mp3"


@strawberry.enum(description="PENDING → SENT → DELIVERED → READ, or FAILED (then retryMessage).")
class MessageStatus(Enum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@strawberry.type(description="A client of the company, from the client base.")
class Client(Node):
    id: strawberry.ID
    name: str
    phone: str | None
    email: str | None
    document: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Client:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            phone=row["phone"],
            email=row["email"],
            document=row["document"],
            notes=row["notes"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.type(description="A WhatsApp message, incoming or outgoing.")
class Message(Node):
    id: strawberry.ID
    instance_id: strawberry.ID
    contact_id: strawberry.ID
    message_id: str = strawberry.field(
        description="WhatsApp's id (a local id until the message has been sent)."
    )
    remote_jid: str
    from_me: bool
    message_type: MessageType
    text_content: str | None
    media_mime_type: str | None
    media_size: int | None
    media_filename: str | None
    media_seconds: int | None = strawberry.field(description="Length of audio and video.")
    media_state: MediaState | None = strawberry.field(
        description="null for messages without media."
    )
    media_error: str | None = strawberry.field(
        description="Why the media is UNAVAILABLE (or why the last attempt failed)."
    )
    quoted_message_id: str | None = strawberry.field(
        description="WhatsApp id of the message this one replies to."
    )
    status: MessageStatus
    error: str | None = strawberry.field(description="Why sending failed, when FAILED.")
    sender_name: str | None = strawberry.field(description="Author inside a group.")
    metadata: JSON | None = strawberry.field(
        description="Details of locations, contact cards and reactions."
    )
    deleted: bool = strawberry.field(description="Deleted for everyone by its author.")
    timestamp: datetime
    created_at: datetime
    sent_by_id: strawberry.Private[uuid.UUID | None]
    pk: strawberry.Private[uuid.UUID]
    # Its place in the chat's order (migration 0007), for `cursor`.
    arrival: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Row | Mapping[str, Any]) -> Message:
        """From a message row, or the same columns as read beside a listed contact."""
        return cls(
            id=strawberry.ID(str(row["id"])),
            instance_id=strawberry.ID(str(row["instance_id"])),
            contact_id=strawberry.ID(str(row["contact_id"])),
            message_id=row["message_id"],
            remote_jid=row["remote_jid"],
            from_me=row["from_me"],
            message_type=MessageType(row["message_type"]),
            text_content=row["text_content"],
            media_mime_type=row["media_mime_type"],
            media_size=row["media_size"],
            media_filename=row["media_filename"],
            media_seconds=row["media_seconds"],
            quoted_message_id=row["quoted_message_id"],
            status=MessageStatus(row["status"]),
            error=row["error"],
            sender_name=row["sender_name"],
            metadata=row["metadata"],
            deleted=row["deleted_at"] is not None,
            timestamp=row["timestamp"],
            created_at=row["created_at"],
            sent_by_id=row["sent_by"],
            pk=row["id"],
            arrival=row["arrival"],
            media_state=MediaState(row["media_state"]) if row.get("media_state") else None,
            media_error=row.get("media_error"),
        )

    @strawberry.field(
        description="The agent who sent it through this server, or who wrote the note; "
        "null for incoming messages, auto-replies and messages typed on the phone."
    )
    async def sent_by(self, info: Info) -> Profile | None:
        if self.sent_by_id is None:
            return None
        row = await info.context.loaders.profile.load(self.sent_by_id)
        return Profile.from_row(row) if row else None

    @strawberry.field(
        description="This message's cursor in its chat's `messages`: pass it as `before` "
        "(newer messages) or `after` (older ones) to open the chat at this message, e.g. "
        "at a `quotedMessage` or a `searchMessages` result."
    )
    def cursor(self) -> str:
        return message_cursor(self.timestamp, self.arrival)

    @strawberry.field(
        description="The message this one replies to, when it is in the same chat here "
        "(null when WhatsApp's quoted message never reached us)."
    )
    async def quoted_message(self, info: Info) -> Message | None:
        if self.quoted_message_id is None:
            return None
        key = (uuid.UUID(str(self.contact_id)), self.quoted_message_id)
        row = await info.context.loaders.quoted_message.load(key)
        return Message.from_row(row) if row else None

    def has_media_file(self) -> bool:
        return self.media_state is MediaState.READY

    @strawberry.field(description="The contact whose chat the message is in.")
    async def contact(self, info: Info) -> Contact:
        row = await info.context.loaders.contact.load(uuid.UUID(str(self.contact_id)))
        assert row is not None  # messages go with their contact (ON DELETE CASCADE)
        return Contact.from_row(row)

    @strawberry.field(
        description="A URL of this server for the media file, for <audio src>, "
        "<img src> or a download link: no header needed, signed, valid "
        "for MEDIA_URL_TTL_SECONDS (ask again for a fresh one). Null "
        "until mediaState is READY. audioFormat applies to audio only."
    )
    @null_unless(lambda message: message.has_media_file())
    def media_url(self, info: Info, audio_format: AudioFormat = AudioFormat.ORIGINAL) -> str | None:
        if not self.has_media_file():
            return None
        audio = self.message_type is MessageType.AUDIO
        return info.context.media_url(self.pk, audio_format.value if audio else "original")


@strawberry.type(description="A person (or group) talking to one of our numbers.")
class Contact(Node):
    id: strawberry.ID
    instance_id: strawberry.ID
    remote_jid: str
    phone_number: str | None = strawberry.field(
        description="Digits with country code; null while WhatsApp only shows a privacy id."
    )
    name: str | None
    push_name: str | None = strawberry.field(description="The name the person set on WhatsApp.")
    profile_picture_url: str | None
    contact_type: ContactType
    is_group: bool
    client_match_ambiguous: bool = strawberry.field(
        description="More than one client has this phone number; link one by hand."
    )
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime
    status: ConversationStatus = strawberry.field(
        description="Where the conversation stands (new contacts: OPEN)."
    )
    opened_at: datetime | None = strawberry.field(
        description="When the current conversation started: its first incoming message, "
        "or its reopening. Null until the contact first writes."
    )
    first_response_at: datetime | None = strawberry.field(
        description="First reply of a person in the current conversation (auto-replies "
        "and notes do not count)."
    )
    resolved_at: datetime | None = strawberry.field(
        description="When it was resolved; null while it is not RESOLVED."
    )
    client_id: strawberry.Private[uuid.UUID | None]
    assignee_id: strawberry.Private[uuid.UUID | None]
    pk: strawberry.Private[uuid.UUID]
    # Read by the contact list together with its page; NOT_READ on a contact from anywhere
    # else (one contact, an event, a mutation), whose fields then ask their DataLoaders.
    listed_unread_count: strawberry.Private[int | NotRead] = NOT_READ
    listed_last_message: strawberry.Private[Mapping[str, Any] | None | NotRead] = NOT_READ

    @classmethod
    def from_row(
        cls,
        row: Row,
        *,
        unread_count: int | NotRead = NOT_READ,
        last_message: Mapping[str, Any] | None | NotRead = NOT_READ,
    ) -> Contact:
        return cls(
            id=strawberry.ID(str(row["id"])),
            instance_id=strawberry.ID(str(row["instance_id"])),
            remote_jid=row["remote_jid"],
            phone_number=row["phone_number"] or None,
            name=row["name"],
            push_name=row["push_name"],
            profile_picture_url=row["profile_picture_url"],
            contact_type=ContactType(row["contact_type"] or "unknown"),
            is_group=row["is_group"],
            client_match_ambiguous=row["client_match_ambiguous"],
            last_message_at=row["last_message_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            status=ConversationStatus(row["conversation_status"]),
            opened_at=row["opened_at"],
            first_response_at=row["first_response_at"],
            resolved_at=row["resolved_at"],
            client_id=row["client_id"],
            assignee_id=row["assignee_id"],
            pk=row["id"],
            listed_unread_count=unread_count,
            listed_last_message=last_message,
        )

    @classmethod
    def from_listed(cls, listed: ListedContact) -> Contact:
        return cls.from_row(
            listed.row, unread_count=listed.unread_count, last_message=listed.last_message
        )

    @strawberry.field(description="The agent who owns the conversation; null: unassigned.")
    async def assignee(self, info: Info) -> Profile | None:
        if self.assignee_id is None:
            return None
        row = await info.context.loaders.profile.load(self.assignee_id)
        return Profile.from_row(row) if row else None

    @strawberry.field(description="Labels, alphabetical (case ignored).")
    async def labels(self, info: Info) -> list[str]:
        return await info.context.loaders.labels.load(self.pk)

    @strawberry.field(description="The linked client, if any.")
    async def client(self, info: Info) -> Client | None:
        if self.client_id is None:
            return None
        row = await info.context.loaders.client.load(self.client_id)
        return Client.from_row(row) if row else None

    # unreadCount and lastMessage are plain functions, not coroutines: a listed contact answers
    # at once, sparing a task per contact and field; otherwise they return the DataLoader's
    # awaitable, which graphql-core awaits.
    @strawberry.field(
        graphql_type=int,
        metadata=per_viewer(),
        description="Incoming messages after the viewer's own read mark.",
    )
    def unread_count(self, info: Info) -> int | Awaitable[int]:
        if self.listed_unread_count is not NOT_READ:
            return self.listed_unread_count
        return info.context.loaders.unread_count.load(self.pk)

    @strawberry.field(graphql_type=Message | None)
    def last_message(self, info: Info) -> Message | None | Awaitable[Message | None]:
        listed = self.listed_last_message
        if listed is not NOT_READ:
            return Message.from_row(listed) if listed is not None else None
        return self._load_last_message(info)

    async def _load_last_message(self, info: Info) -> Message | None:
        row = await info.context.loaders.last_message.load(self.pk)
        return Message.from_row(row) if row else None

    @strawberry.field(description="First and last message, counts, last auto-reply.")
    async def interactions(self, info: Info) -> InteractionSummary:
        row = await info.context.loaders.interactions.load(self.pk)
        assert row is not None
        return InteractionSummary(
            first_message_at=row["first_message_at"],
            last_message_at=row["last_message_at"],
            incoming_count=row["incoming"],
            outgoing_count=row["outgoing"],
            last_auto_reply_at=row["last_auto_reply_at"],
        )


@strawberry.type
class ContactEdge:
    cursor: str
    node: Contact


@strawberry.type
class ContactConnection:
    edges: list[ContactEdge]
    page_info: PageInfo


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo


@strawberry.enum(
    description="RELOAD_REQUIRED: events were missed beyond the retention window; "
    "refetch and subscribe again without afterSeq. DELETED: the contact was erased "
    "(eraseContact); drop it and its conversation."
)
class StreamEventKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"
    RELOAD_REQUIRED = "RELOAD_REQUIRED"


@strawberry.type
class MessageEvent:
    seq: str = strawberry.field(description="Pass it back as afterSeq to resume after it.")
    kind: StreamEventKind
    message: Message | None
    # Set on events built once for every subscriber: the executor shares their results.
    shared_results: strawberry.Private[SharedResults | None] = None


@strawberry.type
class ContactEvent:
    seq: str = strawberry.field(description="Pass it back as afterSeq to resume after it.")
    kind: StreamEventKind
    contact: Contact | None = strawberry.field(description="Null when DELETED or RELOAD_REQUIRED.")
    contact_id: strawberry.ID | None = strawberry.field(
        default=None, description="The contact's id, also when DELETED; null for RELOAD_REQUIRED."
    )
    # Set on events built once for every subscriber: the executor shares their results.
    shared_results: strawberry.Private[SharedResults | None] = None


def page_info(page: Page[Any]) -> PageInfo:
    """A page's PageInfo, whichever way it was asked for (services/common/pagination.py)."""
    return PageInfo(
        has_next_page=page.has_next,
        end_cursor=page.cursors[-1] if page.cursors else None,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
    )


@strawberry.type(description="How a contact and the company have talked so far.")
class InteractionSummary:
    first_message_at: datetime | None
    last_message_at: datetime | None
    incoming_count: int
    outgoing_count: int
    last_auto_reply_at: datetime | None


@strawberry.type
class ClientEdge:
    cursor: str
    node: Client


@strawberry.type
class ClientConnection:
    edges: list[ClientEdge]
    page_info: PageInfo


@strawberry.input
class UpdateContactInput:
    contact_type: ContactType | None = strawberry.UNSET
    client_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null unlinks the client."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="null goes back to the WhatsApp name."
    )


@strawberry.input
class CreateClientInput:
    name: str | None = strawberry.field(default=None, description="Defaults to the contact's name.")
    email: str | None = None
    document: str | None = None
    notes: str | None = None


@strawberry.type(description="Business hours of a number, now.")
class Availability:
    is_available_now: bool
    next_available_at: datetime | None = strawberry.field(
        description="When the next opening starts (now when open; null when never)."
    )
    timezone: str
