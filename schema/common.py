from __future__ import annotations

from datetime import UTC, datetime

import strawberry


@strawberry.interface(
    description="An object with an id of its own: `node(id:)` finds it again by that id "
    "(Relay's object identification; normalised caches refetch with it)."
)
class Node:
    id: strawberry.ID


@strawberry.type(description="Relay-style page information; cursors are opaque.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="With first: more items after this page. With last: true when the "
        "page was asked for before a cursor."
    )
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False,
        description="With last: more items before this page. With first: true when "
        "the page was asked for after a cursor.",
    )
    start_cursor: str | None = None


def _serialize_datetime(value: datetime) -> str:
    # Incoming WhatsApp times have whole seconds and our own microseconds; clients parse one
    # shape: milliseconds, UTC, `Z`.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs an offset or Z, e.g. 2026-12-04T17:09:54Z")
    return parsed


# Strawberry's DateTime with one output format (it replaces the built-in one schema-wide).
DateTime = strawberry.scalar(
    name="DateTime",
    description="Date with time (ISO-8601). Answers are always UTC with milliseconds, "
    "e.g. 2026-12-04T17:09:54.123Z.",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)
