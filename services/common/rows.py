"""The stored-row value services hand to the layers above.

Services return rows as the database gives them (read by column name); the GraphQL types in
`schema/` are built from these, so they name this type and never the database package.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from asyncpg import Record as Row

__all__ = ["Row", "in_key_order"]

K = TypeVar("K", bound=Hashable)


def in_key_order(rows: Iterable[Row], keys: Sequence[K], key: str = "id") -> list[Row | None]:
    """A batch read's rows in the order of `keys`, None for a key nothing was found for."""
    found = {row[key]: row for row in rows}
    return [found.get(k) for k in keys]
