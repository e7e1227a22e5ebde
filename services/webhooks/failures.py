"""Telling outages from data errors: what is worth trying again later and what never works.

An outage (the database or the network unreachable, a timeout, a deadlock, PostgreSQL shutting
down or out of connections) goes away by itself, so the work is retried with backoff. Anything
else (a value PostgreSQL refuses, a number out of range, a payload of a shape nobody expected)
fails the same way every time: retrying it only holds up what comes after it.
"""

from __future__ import annotations

import asyncpg
import httpx

from services.errors import EvolutionUnavailable

# SQLSTATE classes of conditions that pass: connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown,
# cannot connect now, statement timeout), system error (I/O).
_PASSING_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_LOCK_NOT_AVAILABLE = "55P03"


def is_outage(error: BaseException) -> bool:
    """True when `error` says "not now" rather than "never"."""
    if isinstance(error, asyncpg.PostgresError):
        state = error.sqlstate or ""
        return state[:2] in _PASSING_CLASSES or state == _LOCK_NOT_AVAILABLE
    if isinstance(error, ValueError):
        # Includes asyncpg's client-side DataError (an argument it cannot encode), which is
        # also an InterfaceError.
        return False
    return isinstance(
        error,
        (OSError, TimeoutError, asyncpg.InterfaceError, httpx.TransportError, EvolutionUnavailable),
    )
