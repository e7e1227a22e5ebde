"""Searching a number's messages by their text (PostgreSQL full-text search, Portuguese)."""

from __future__ import annotations

import re
import uuid

from db import search as search_db
from db.sql import Row
from services.common.pagination import Page, decode_arrival_cursor, page_size
from services.errors import BadInput
from services.identity import access
from services.identity.auth import Principal
from services.messaging.conversations import message_cursor
from services.platform.capabilities import WithDatabase

MAX_QUERY_LENGTH = 200
# Line breaks, tabs and other control characters separate words like a space does.
_CONTROL = re.compile("[\x01-\x1f\x7f-\x9f]")


def search_text(query: str) -> str:
    """The query as PostgreSQL will read it, or BadInput saying what is wrong with it.

    The text is handed to websearch_to_tsquery, which accepts anything a person types
    ("quoted phrases", -excluded, or) and never fails on syntax; what it cannot take is
    refused here, before any SQL: NUL, which PostgreSQL text cannot hold, and lone
    surrogates, which are no UTF-8."""
    if "\x00" in query:
        raise BadInput("query must not contain NUL characters", field="query")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("query is not valid text", field="query") from None
    text = " ".join(_CONTROL.sub(" ", query).split())
    if not text:
        raise BadInput("query must not be empty", field="query")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadInput(f"query must be at most {MAX_QUERY_LENGTH} characters", field="query")
    return text


async def search_messages(
    runtime: WithDatabase,
    principal: Principal,
    instance_id: uuid.UUID,
    query: str,
    *,
    first: int | None,
    after: str | None,
) -> Page[Row]:
    """Messages of a number the principal may see whose text matches, newest first; deleted
    messages are not found. Accents and word endings do not matter ("atencao" finds
    "Atenção", "pagamento" finds "pagamentos"); a query of stop words alone finds nothing."""
    await access.visible_instance(runtime.db, principal, instance_id)
    text = search_text(query)
    size = page_size(first)
    rows = await search_db.search_messages(
        runtime.db, instance_id, text, decode_arrival_cursor(after), size + 1
    )
    items = rows[:size]
    return Page(
        items,
        len(rows) > size,
        [message_cursor(r["timestamp"], r["arrival"]) for r in items],
        # Forward only: something lies before the page exactly when it starts after a cursor.
        has_previous=after is not None,
    )
