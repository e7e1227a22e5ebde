"""Keyset pagination: opaque cursors over a row's sort key, and the Relay arguments
(`first`/`after` forward, `last`/`before` backward) checked into a `Window`."""

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
BIGINT = range(0, 2**63)
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items in the connection's own order, whichever way the page was asked for."""

    items: list[T]
    has_next: bool
    cursors: list[str]
    has_previous: bool = False


@dataclass(frozen=True)
class Window:
    """Which end of the (cursor-bounded) list a page is cut from, and how many items."""

    size: int
    backward: bool
    """`last`: the items nearest the end (nearest `before`), still returned in list order."""

    def page(self, rows: list[T], cursors: list[str], bounded: tuple[bool, bool]) -> Page[T]:
        """The page from `size + 1` rows read in list order (`rows` and their cursors);
        `bounded` says whether (after, before) were given. The row past `size` says there is
        more in the direction read; a cursor on the other side says something lies there
        (Relay lets the server answer so without counting)."""
        more = len(rows) > self.size
        if self.backward:
            return Page(rows[-self.size :], bounded[1], cursors[-self.size :], more)
        return Page(rows[: self.size], more, cursors[: self.size], bounded[0])


def page_size(first: int | None, default: int = 50) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    return size


def window(first: int | None, last: int | None, default: int = 50) -> Window:
    """Relay's `first` or `last` (not both; `first` = `default` when neither is given)."""
    if first is not None and last is not None:
        raise BadInput("Give first or last, not both", field="last")
    if last is not None:
        if not 1 <= last <= MAX_PAGE:
            raise BadInput(f"last must be between 1 and {MAX_PAGE}", field="last")
        return Window(last, backward=True)
    return Window(page_size(first, default), backward=False)


# PostgreSQL's -infinity as asyncpg reads it (and writes it back): the activity of a contact
# that never wrote, which sorts last.
NEVER = datetime.min
NEVER_TEXT = "-infinity"


def encode_cursor(at: datetime, *keys: int | uuid.UUID) -> str:
    """A cursor over (at, keys…): the sort key of the row it stands for."""
    instant = NEVER_TEXT if at == NEVER else at.isoformat()
    raw = "|".join([instant, *(str(key) for key in keys)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_parts(cursor: str, count: int) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    parts = raw.split("|")
    if len(parts) != count:
        raise ValueError("not a cursor of this list")
    return parts


def _instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None or instant.year not in CURSOR_YEARS:
        raise ValueError(text)
    return instant


def _arrival(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) not in BIGINT:
        raise ValueError(text)
    return int(text)


def _not_a_cursor(field: str) -> BadInput:
    return BadInput(f"{field} is not a cursor this list returned", field=field)


def decode_arrival_cursor(cursor: str | None, field: str = "after") -> tuple[datetime, int] | None:
    """A cursor of `encode_cursor(at, arrival)`: a message's timestamp and arrival number."""
    if cursor is None:
        return None
    try:
        at, arrival = _cursor_parts(cursor, 2)
        return _instant(at), _arrival(arrival)
    except ValueError:
        raise _not_a_cursor(field) from None


def decode_activity_cursor(
    cursor: str | None, field: str = "after"
) -> tuple[datetime, int, uuid.UUID] | None:
    """A cursor of `encode_cursor(at, arrival, row_id)`: a conversation's last activity."""
    if cursor is None:
        return None
    try:
        at, arrival, row_id = _cursor_parts(cursor, 3)
        return NEVER if at == NEVER_TEXT else _instant(at), _arrival(arrival), uuid.UUID(row_id)
    except ValueError:
        raise _not_a_cursor(field) from None


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
        raise _not_a_cursor("after") from None
