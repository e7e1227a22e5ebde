"""The one place that talks to the `databases` API.

`databases` owns the pool, the per-task connection and `transaction()`. Queries go straight to the
task's asyncpg connection with `:name` parameters rewritten to `$n` once per statement: this skips
SQLAlchemy's compiler, which `databases` 0.9 reaches into and which costs more than the query on
hot paths.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from databases import Database

Row: TypeAlias = asyncpg.Record

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def _compile(sql: str) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _args(names: tuple[str, ...], params: Mapping[str, Any]) -> list[Any]:
    try:
        return [params[n] for n in names]
    except KeyError as missing:
        raise TypeError(f"query parameter {missing} was not given") from None


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset on release (UNLISTEN, RESET ALL, unlock …): a round trip per query.

    Nothing here leaves session state on a pooled connection: advisory locks are transaction
    scoped, LISTEN uses dedicated connections, and open transactions are still rolled back.
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def create_database(
    url: str, *, min_size: int = 2, max_size: int = 10, statement_cache_size: int | None = None
) -> Database:
    """A `databases.Database` for `url`; a `host` query parameter (a socket folder) is honoured."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {
        "min_size": min_size,
        "max_size": max_size,
        "init": _init_connection,
        "reset": _no_reset,
    }
    if "host" in query:
        # databases ignores ?host=; asyncpg needs it for unix sockets (embedded PostgreSQL).
        options["host"] = query.pop("host")
    if statement_cache_size is not None:
        # PgBouncer in transaction mode (Supabase's pooler) cannot keep prepared statements.
        options["statement_cache_size"] = statement_cache_size
    url = urlunsplit(parts._replace(query=urlencode(query)))
    return Database(url, **options)


@asynccontextmanager
async def connection(db: Database) -> AsyncIterator[asyncpg.Connection]:
    async with db.connection() as conn:
        yield conn.raw_connection


async def fetch_all(db: Database, sql: str, **params: Any) -> list[Row]:
    text, names = _compile(sql)
    async with connection(db) as conn:
        return await conn.fetch(text, *_args(names, params))


async def fetch_all_planned_with_values(db: Database, sql: str, **params: Any) -> list[Row]:
    """`fetch_all` through the unnamed statement, which PostgreSQL plans with these values.

    For a query whose best plan depends on its values (a search pattern): a cached prepared
    statement switches to one generic plan after five runs. The price is one more round trip
    (prepare, then execute) and planning each time. The unnamed statement needs no closing.
    """
    text, names = _compile(sql)
    async with connection(db) as conn:
        statement = await conn.prepare(text, name="")
        return await statement.fetch(*_args(names, params))


async def fetch_one(db: Database, sql: str, **params: Any) -> Row | None:
    text, names = _compile(sql)
    async with connection(db) as conn:
        return await conn.fetchrow(text, *_args(names, params))


async def fetch_val(db: Database, sql: str, **params: Any) -> Any:
    text, names = _compile(sql)
    async with connection(db) as conn:
        return await conn.fetchval(text, *_args(names, params))


async def execute(db: Database, sql: str, **params: Any) -> str:
    """Run a statement; return PostgreSQL's status tag (e.g. ``UPDATE 1``)."""
    text, names = _compile(sql)
    async with connection(db) as conn:
        return await conn.execute(text, *_args(names, params))


class Savepoint:
    """One savepoint per unit of work inside the task's open transaction, re-taken for each
    unit: releasing the previous one and taking the next go in one round trip.

    The name must be a plain identifier: it is written into the SQL.
    """

    def __init__(self, db: Database, name: str) -> None:
        if not name.isidentifier():
            raise ValueError(f"not a savepoint name: {name!r}")
        self.db = db
        self.name = name
        self._taken = False

    async def take(self) -> None:
        """Start the next unit: everything after this can be undone by `rollback`."""
        sql = (
            f"RELEASE SAVEPOINT {self.name}; SAVEPOINT {self.name}"
            if self._taken
            else f"SAVEPOINT {self.name}"
        )
        async with connection(self.db) as conn:
            await conn.execute(sql)  # no arguments: the simple protocol runs both statements
        self._taken = True

    async def rollback(self) -> None:
        """Undo the current unit (the savepoint stays, so `take` works as after a success)."""
        async with connection(self.db) as conn:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {self.name}")


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


async def update_returning(
    db: Database,
    table: str,
    changes: Mapping[str, Any],
    *,
    where: str,
    returning: str,
    **keys: Any,
) -> Row | None:
    """`UPDATE table SET <each of changes>, updated_at = NOW() WHERE where RETURNING returning`.

    The column names are written into the SQL, so they must come from code, never from users:
    anything but a plain lower-case identifier is refused. `keys` are the parameters `where`
    names; a change may not share a name with one.
    """
    for column in changes:
        if not _IDENTIFIER.fullmatch(column):
            raise ValueError(f"not a column name: {column!r}")
    if clash := changes.keys() & keys.keys():
        raise ValueError(f"changes and keys share names: {sorted(clash)}")
    assignments = "".join(f"{column} = :{column}, " for column in changes)
    return await fetch_one(
        db,
        f"UPDATE {table} SET {assignments}updated_at = NOW() WHERE {where} RETURNING {returning}",
        **keys,
        **changes,
    )


def affected(status: str) -> int:
    """Row count from a status tag such as ``UPDATE 3`` or ``INSERT 0 1``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def close_database(db: Database, timeout: float = 10.0) -> None:
    """Disconnect, waiting at most `timeout` seconds for connections in use.

    asyncpg's graceful close waits forever for a connection that is never given back (one
    stranded by a database outage); past the timeout the pool is terminated instead.
    """
    try:
        await asyncio.wait_for(db.disconnect(), timeout)
    except TimeoutError:
        pool = getattr(db._backend, "_pool", None)  # noqa: SLF001 - databases exposes no API
        if pool is not None:
            pool.terminate()
        db.is_connected = False
