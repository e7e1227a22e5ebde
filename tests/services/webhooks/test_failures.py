"""Outages are told from data errors by what the error is, PostgreSQL's SQLSTATE first."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from services.errors import EvolutionUnavailable
from services.webhooks.failures import is_outage


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError("peer went away"),
        TimeoutError(),
        OSError("network unreachable"),
        asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
        asyncpg.exceptions.CannotConnectNowError("starting up"),
        asyncpg.exceptions.AdminShutdownError("shutting down"),
        asyncpg.exceptions.TooManyConnectionsError("too many"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock"),
        asyncpg.exceptions.SerializationError("serialization"),
        asyncpg.exceptions.QueryCanceledError("statement timeout"),
        asyncpg.exceptions.LockNotAvailableError("lock"),
        asyncpg.InterfaceError("connection is closed"),
        httpx.ConnectError("refused"),
        EvolutionUnavailable("Evolution API unreachable"),
    ],
)
def test_outages_are_worth_retrying(error):
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("year 3170843 is out of range"),
        OverflowError("timestamp out of range"),
        KeyError("key"),
        TypeError("expected str"),
        RuntimeError("a bug"),
        asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax"),
        asyncpg.exceptions.NumericValueOutOfRangeError("out of range"),
        asyncpg.exceptions.UntranslatableCharacterError("\\u0000 cannot be converted"),
        asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedColumnError("no such column"),
        asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
    ],
)
def test_data_errors_never_are(error):
    assert not is_outage(error)
