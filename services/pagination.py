"""Keyset pagination: opaque cursors over a row's sort key and the `first` bounds."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.errors import BadInput

MAX_PAGE = 200
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    cursors: list[str]


def page_size(first: int | None, default: int = 50) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    return size


def encode_cursor(at: datetime, *keys: int | uuid.UUID) -> str:
    """A cursor over (at, keys…): the sort key of the row it stands for."""
    raw = "|".join([at.isoformat(), *(str(key) for key in keys)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_parts(cursor: str, count: int) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    parts = raw.split("|")
    if len(parts) != count:
        raise ValueError("not a cursor of this list")
    return parts


def decode_arrival_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor of `encode_cursor(at, arrival)`: a message's timestamp and arrival number."""
    if cursor is None:
        return None
    try:
        at, arrival = _cursor_parts(cursor, 2)
        return datetime.fromisoformat(at), int(arrival)
    except ValueError:
        raise BadInput("after is not a cursor this API returned", field="after") from None


def decode_activity_cursor(cursor: str | None) -> tuple[datetime, int, uuid.UUID] | None:
    """A cursor of `encode_cursor(at, arrival, row_id)`: a conversation's last activity."""
    if cursor is None:
        return None
    try:
        at, arrival, row_id = _cursor_parts(cursor, 3)
        return datetime.fromisoformat(at), int(arrival), uuid.UUID(row_id)
    except ValueError:
        raise BadInput("after is not a cursor this API returned", field="after") from None


def encode_text_cursor(text: str, row_id: uuid.UUID) -> str:
    raw = f"{row_id}|{text}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_text_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        row_id, _, text = raw.partition("|")
        return text, uuid.UUID(row_id)
    except ValueError:
        raise BadInput("after is not a cursor this API returned", field="after") from None
