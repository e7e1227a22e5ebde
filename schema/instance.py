from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.context import Info
from schema.common import Node
from schema.profile import Profile
from services.common.rows import Row


@strawberry.enum(description="Connection state of a WhatsApp number.")
class InstanceStatus(Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    QR_CODE = "qr_code"


@strawberry.type(description="A WhatsApp number connected through Evolution API.")
class Instance(Node):
    id: strawberry.ID
    instance_name: str = strawberry.field(description="Evolution API's name for this number.")
    display_name: str
    phone_number: str | None
    status: InstanceStatus
    qr_code: str | None = strawberry.field(
        description="QR code to scan, as a PNG data URI (while status is QR_CODE)."
    )
    qr_code_text: str | None = strawberry.field(
        description="The raw QR string, to draw it yourself."
    )
    pairing_code: str | None = strawberry.field(
        description="8-character code to link by phone number instead of scanning."
    )
    qr_code_updated_at: datetime | None
    status_reason: int | None = strawberry.field(
        description="WhatsApp's reason code of the last state change (401 = logged out)."
    )
    status_detail: str | None = strawberry.field(description="Why the number is in this state.")
    profile_name: str | None
    profile_picture_url: str | None
    webhook_url: str | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    last_seen_at: datetime | None = strawberry.field(
        description="When Evolution API last sent an event for this number."
    )
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Profiles that answer this number (admins see every number).")
    async def members(self, info: Info) -> list[Profile]:
        rows = await info.context.loaders.members.load(self.pk)
        return [Profile.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: Row) -> Instance:
        return cls(
            id=strawberry.ID(str(row["id"])),
            instance_name=row["instance_name"],
            display_name=row["display_name"],
            phone_number=row["phone_number"],
            status=InstanceStatus(row["status"]),
            qr_code=row["qr_code"],
            qr_code_text=row["qr_code_text"],
            pairing_code=row["pairing_code"],
            qr_code_updated_at=row["qr_code_updated_at"],
            status_reason=row["status_reason"],
            status_detail=row["status_detail"],
            profile_name=row["profile_name"],
            profile_picture_url=row["profile_picture_url"],
            webhook_url=row["webhook_url"],
            connected_at=row["connected_at"],
            disconnected_at=row["disconnected_at"],
            last_seen_at=row["last_seen_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            pk=row["id"],
        )


@strawberry.input
class CreateInstanceInput:
    display_name: str


@strawberry.input
class UpdateInstanceInput:
    display_name: str | None = strawberry.UNSET


@strawberry.enum
class InstanceEventKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    STATUS = "STATUS"
    QR_CODE = "QR_CODE"
    SETTINGS = "SETTINGS"
    DELETED = "DELETED"


@strawberry.type(description="A change of a number: status, a new QR code, settings, deletion.")
class InstanceEvent:
    kind: InstanceEventKind
    instance_id: strawberry.ID
    instance: Instance | None = strawberry.field(description="Null once deleted.")


@strawberry.type(description="Behaviour of a number: what Evolution enforces and our automation.")
class InstanceSettings:
    id: strawberry.ID = strawberry.field(
        description="The number's id, as `instanceId`: a number has one settings object, so "
        "normalised caches (Apollo, urql) key it by type and id. Not a `Node`: `node(id:)` "
        "finds the `Instance`."
    )
    instance_id: strawberry.ID
    reject_calls: bool
    reject_call_message: str | None
    ignore_groups: bool
    always_online: bool
    read_messages: bool = strawberry.field(
        description="Send WhatsApp read receipts (blue ticks) when an agent reads a chat."
    )
    read_status: bool
    auto_reply_enabled: bool
    auto_reply_message: str | None
    auto_reply_cooldown_minutes: int
    availability_schedule: JSON
    timezone: str
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row, default_timezone: str) -> InstanceSettings:
        schedule: Any = row["availability_schedule"]
        instance_id = strawberry.ID(str(row["instance_id"]))
        return cls(
            id=instance_id,
            instance_id=instance_id,
            reject_calls=row["reject_calls"],
            reject_call_message=row["reject_call_message"],
            ignore_groups=row["ignore_groups"],
            always_online=row["always_online"],
            read_messages=row["read_messages"],
            read_status=row["read_status"],
            auto_reply_enabled=row["auto_reply_enabled"],
            auto_reply_message=row["auto_reply_message"],
            auto_reply_cooldown_minutes=row["auto_reply_cooldown_minutes"],
            availability_schedule=schedule if schedule is not None else {},
            timezone=row["timezone"] or default_timezone,
            updated_at=row["updated_at"],
        )


@strawberry.input
class InstanceSettingsInput:
    reject_calls: bool | None = strawberry.UNSET
    reject_call_message: str | None = strawberry.UNSET
    ignore_groups: bool | None = strawberry.UNSET
    always_online: bool | None = strawberry.UNSET
    read_messages: bool | None = strawberry.UNSET
    read_status: bool | None = strawberry.UNSET
    auto_reply_enabled: bool | None = strawberry.UNSET
    auto_reply_message: str | None = strawberry.UNSET
    auto_reply_cooldown_minutes: int | None = strawberry.UNSET
    availability_schedule: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description='{"monday": {"enabled": true, "start": "08:00", "end": "18:00"}, …}; a day '
        "may hold a list of ranges; an end before the start crosses midnight.",
    )
    timezone: str | None = strawberry.field(
        default=strawberry.UNSET, description="IANA zone; null goes back to BUSINESS_TIMEZONE."
    )
