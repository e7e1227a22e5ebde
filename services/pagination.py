"""Keyset pagination: opaque cursors over (timestamp, id) and the `first` bounds."""

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


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
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
