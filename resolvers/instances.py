from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator

import strawberry

from resolvers.context import Info
from resolvers.inputs import given_fields, parse_id
from schema.instance import (
    CreateInstanceInput,
    Instance,
    InstanceEvent,
    InstanceEventKind,
    InstanceSettings,
    InstanceSettingsInput,
    UpdateInstanceInput,
)
from services.identity import access
from services.instances import lifecycle as service, members
from services.instances.lifecycle import clean_settings_input
from services.platform.events import INSTANCES_CHANNEL


async def _reload(info: Info, instance_id: uuid.UUID) -> Instance:
    row = await access.visible_instance(info.context.runtime.db, info.context.viewer, instance_id)
    return Instance.from_row(row)


@strawberry.type
class InstanceQueries:
    @strawberry.field(description="The numbers the viewer can see (all of them for admins).")
    async def instances(self, info: Info) -> list[Instance]:
        viewer = info.context.viewer
        rows = await access.visible_instances(info.context.runtime.db, viewer)
        return [Instance.from_row(r) for r in rows]

    @strawberry.field
    async def instance(self, info: Info, id: strawberry.ID) -> Instance | None:
        viewer = info.context.viewer
        row = await access.find_visible_instance(info.context.runtime.db, viewer, parse_id(id))
        return Instance.from_row(row) if row is not None else None

    @strawberry.field
    async def instance_settings(self, info: Info, instance_id: strawberry.ID) -> InstanceSettings:
        runtime = info.context.runtime
        row = await service.get_settings(
            runtime, info.context.viewer, parse_id(instance_id, "instanceId")
        )
        return InstanceSettings.from_row(row, runtime.settings.business_timezone)


@strawberry.type
class InstanceMutations:
    @strawberry.mutation(description="Create a number on Evolution API (admins).")
    async def create_instance(self, info: Info, input: CreateInstanceInput) -> Instance:
        row = await service.create_instance(
            info.context.runtime, info.context.viewer, input.display_name
        )
        return Instance.from_row(row)

    @strawberry.mutation
    async def update_instance(
        self, info: Info, id: strawberry.ID, input: UpdateInstanceInput
    ) -> Instance:
        name = input.display_name if input.display_name is not strawberry.UNSET else None
        row = await service.update_instance(
            info.context.runtime, info.context.viewer, parse_id(id), name
        )
        return Instance.from_row(row)

    @strawberry.mutation(
        description="Ask for a QR code (or a pairing code with phoneNumber); "
        "new QR codes then arrive through instanceEvents."
    )
    async def connect_instance(
        self, info: Info, id: strawberry.ID, phone_number: str | None = None
    ) -> Instance:
        row = await service.connect_instance(
            info.context.runtime, info.context.viewer, parse_id(id), phone_number
        )
        return Instance.from_row(row)

    @strawberry.mutation(description="Log the number out of WhatsApp; a new QR is needed after.")
    async def disconnect_instance(self, info: Info, id: strawberry.ID) -> Instance:
        row = await service.disconnect_instance(
            info.context.runtime, info.context.viewer, parse_id(id)
        )
        return Instance.from_row(row)

    @strawberry.mutation(
        description="Delete the number here and on Evolution API, with its "
        "contacts and messages (admins)."
    )
    async def delete_instance(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        await service.delete_instance(info.context.runtime, info.context.viewer, parse_id(id))
        return id

    @strawberry.mutation(description="Let a profile answer this number (admins).")
    async def add_instance_member(
        self, info: Info, instance_id: strawberry.ID, profile_id: strawberry.ID
    ) -> Instance:
        runtime = info.context.runtime
        target = parse_id(instance_id, "instanceId")
        await members.add_member(
            runtime, info.context.viewer, target, parse_id(profile_id, "profileId")
        )
        return await _reload(info, target)

    @strawberry.mutation(
        description="Stop a profile answering this number; its live "
        "subscriptions stop delivering within seconds (admins)."
    )
    async def remove_instance_member(
        self, info: Info, instance_id: strawberry.ID, profile_id: strawberry.ID
    ) -> Instance:
        runtime = info.context.runtime
        target = parse_id(instance_id, "instanceId")
        await members.remove_member(
            runtime, info.context.viewer, target, parse_id(profile_id, "profileId")
        )
        return await _reload(info, target)

    @strawberry.mutation(description="Validate, push to Evolution API what it enforces, store.")
    async def update_instance_settings(
        self, info: Info, instance_id: strawberry.ID, input: InstanceSettingsInput
    ) -> InstanceSettings:
        runtime = info.context.runtime
        row = await service.update_settings(
            runtime,
            info.context.viewer,
            parse_id(instance_id, "instanceId"),
            clean_settings_input(given_fields(input)),
        )
        return InstanceSettings.from_row(row, runtime.settings.business_timezone)


@strawberry.type
class InstanceSubscriptions:
    @strawberry.subscription(
        description="Status, QR code and settings changes of the numbers "
        "the viewer can see; one number with instanceId."
    )
    async def instance_events(
        self, info: Info, instance_id: strawberry.ID | None = None
    ) -> AsyncGenerator[InstanceEvent, None]:
        context = info.context
        runtime, viewer = context.runtime, context.viewer
        only = parse_id(instance_id, "instanceId") if instance_id is not None else None
        if only is not None:
            await access.visible_instance(runtime.db, viewer, only)
        seen = access.InstanceEventFilter(runtime.db, viewer)
        async with runtime.bus.subscribe(INSTANCES_CHANNEL) as events:
            async for payload in events:
                if context.token_expired():
                    return  # nothing more for a token that expired (an HTTP stream ends here)
                target = uuid.UUID(payload["instance_id"])
                if only is not None and target != only:
                    continue
                kind = InstanceEventKind(payload["kind"])
                if kind is InstanceEventKind.DELETED:
                    if seen.sees_deletion(target):
                        yield InstanceEvent(
                            kind=kind, instance_id=strawberry.ID(str(target)), instance=None
                        )
                    continue
                row = await seen.visible(target)
                if row is None:
                    continue
                yield InstanceEvent(
                    kind=kind,
                    instance_id=strawberry.ID(str(target)),
                    instance=Instance.from_row(row),
                )
