"""Keyset pagination: opaque cursors over (timestamp, id) and the `first` bounds."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.errors import BadInput

MAX_PAGE = 200
# A cursor's instant must survive any time zone and PostgreSQL's range: the years this API
# can have written, with room either side.
CURSOR_YEARS = range(1900, 9000)
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


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None or instant.year not in CURSOR_YEARS:
            raise ValueError(at)
        return instant, uuid.UUID(row_id)
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
        if "\x00" in text:  # PostgreSQL text cannot hold it; no name this API wrote has one
            raise ValueError(text)
        return text, uuid.UUID(row_id)
    except ValueError:
        raise BadInput("after is not a cursor this API returned", field="after") from None
