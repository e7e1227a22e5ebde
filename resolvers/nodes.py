"""`node(id:)` and `nodes(ids:)`: Relay's object identification over the ids the API already
gives (each table's UUID). The service says which type an id is and whether the viewer may see
it; the row then comes through the request's DataLoaders, batched with every other lookup."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from resolvers.context import Info
from resolvers.inputs import parse_id
from resolvers.loaders import Loaders
from schema.common import Node
from schema.conversation import Client, Contact, Message
from schema.instance import Instance
from schema.profile import Profile
from schema.sending import QuickMessage
from services.common.rows import Row
from services.identity import nodes as service

Build = Callable[[Row], Node]
# Each type's DataLoader and how a row becomes the type.
TYPES: dict[str, tuple[Callable[[Loaders], DataLoader[uuid.UUID, Row | None]], Build]] = {
    "Contact": (lambda loaders: loaders.contact, Contact.from_row),
    "Message": (lambda loaders: loaders.message, Message.from_row),
    "Instance": (lambda loaders: loaders.instance, Instance.from_row),
    "Profile": (lambda loaders: loaders.profile, Profile.from_row),
    "Client": (lambda loaders: loaders.client, Client.from_row),
    "QuickMessage": (lambda loaders: loaders.quick_message, QuickMessage.from_row),
}


async def _nodes(info: Info, keys: list[uuid.UUID]) -> list[Node | None]:
    kinds = await service.kinds_of(info.context.runtime, info.context.viewer, keys)
    loads: list[Any] = []
    for key, kind in zip(keys, kinds, strict=True):
        if kind is None:
            loads.append(None)
        else:
            loader, _ = TYPES[kind]
            loads.append(loader(info.context.loaders).load(key))
    found: list[Node | None] = []
    for kind, load in zip(kinds, loads, strict=True):
        row = await load if load is not None else None
        found.append(TYPES[kind][1](row) if kind is not None and row is not None else None)
    return found


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="Any object by its id (Contact, Message, Instance, Profile, Client, "
        "QuickMessage): null when it does not exist or is not yours to see, as contact(id:) "
        "and instance(id:) answer."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        [found] = await _nodes(info, [parse_id(id)])
        return found

    @strawberry.field(
        description="Several objects by id (at most 100), in the order asked; null for each "
        "one that does not exist or is not yours to see."
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return await _nodes(info, [parse_id(i, f"ids[{n}]") for n, i in enumerate(ids)])
