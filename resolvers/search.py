from __future__ import annotations

import strawberry

from resolvers.context import Info
from resolvers.inputs import parse_id
from schema.conversation import Message, MessageConnection, MessageEdge, page_info
from services.messaging import search as service


@strawberry.type
class SearchQueries:
    @strawberry.field(
        description="Messages of a number whose text matches `query`, newest first. "
        "Accents and word endings are ignored (Portuguese): `atencao` finds "
        '"Atenção", `pagamento` finds "pagamentos". Web-search syntax: '
        '"a phrase", -word excludes, `or`. Deleted messages are not found; a '
        "query of stop words alone finds nothing. Each message's `contact` is its chat."
    )
    async def search_messages(
        self,
        info: Info,
        instance_id: strawberry.ID,
        query: str,
        first: int | None = 50,
        after: str | None = None,
    ) -> MessageConnection:
        page = await service.search_messages(
            info.context.runtime,
            info.context.viewer,
            parse_id(instance_id, "instanceId"),
            query,
            first=first,
            after=after,
        )
        return MessageConnection(
            edges=[
                MessageEdge(cursor=c, node=Message.from_row(r))
                for r, c in zip(page.items, page.cursors, strict=True)
            ],
            page_info=page_info(page),
        )
