"""This process's liveness, as every replica can see it: a session advisory lock.

Each worker process takes a lock (namespace WORKER_NAMESPACE, key = its worker id) on a
connection of its own, outside the pool, and keeps it as long as it lives. Claims (outbox
sends, media fetches) record that worker id; another replica treats a claim as free as soon
as its worker's lock is gone (`atendimento_worker_alive` in SQL). PostgreSQL drops the lock
the moment the connection ends: a process killed with SIGKILL loses it at once, a host that
vanishes once the TCP keepalives below give up.

The same connection also competes for one more lock (LEADER_NAMESPACE): the process holding it
runs the periodic jobs (the reconciler, pointing webhooks at their URLs) for every process and
replica; when it dies another takes the lock at its next check, within CHECK_SECONDS.

Behind PgBouncer in transaction mode a session lock does not follow the client, so liveness
cannot be told apart there; claims then fall back to their lease, as without a worker id, and
every process runs the periodic jobs (they are safe to run twice, only wasteful).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

log = logging.getLogger("atendimento.liveness")

WORKER_NAMESPACE = 7002  # also in migration 0006's atendimento_worker_alive
LEADER_NAMESPACE = 7003
CHECK_SECONDS = 2.0
# The server notices a vanished client host after about idle + interval × count seconds.
KEEPALIVES = {
    "tcp_keepalives_idle": "3",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}


class Liveness:
    """Holds this process's worker lock; `worker_id` is None while it is not held."""

    def __init__(self, database_url: str | None) -> None:
        self.database_url = database_url
        self.worker_id: int | None = None
        self._leader = False
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def leads(self) -> bool:
        """Whether this process runs the periodic jobs: it holds the leader lock, or no lock can
        be held at all (no database, a pooler) and every process must run them."""
        return self._leader or self.worker_id is None

    async def start(self) -> None:
        """Take the lock now (a failure is logged and retried in the background)."""
        self._stop.clear()
        await self._ensure()
        self._task = asyncio.create_task(self._keep(), name="liveness")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _keep(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), CHECK_SECONDS)
            if not self._stop.is_set():
                await self._ensure()

    async def _ensure(self) -> None:
        """Check the lock's connection; if it broke, connect again and take a lock again
        (the same worker id when it is free, so this process's claims stay alive)."""
        try:
            if self._conn is not None and not self._conn.is_closed():
                await self._try_to_lead(self._conn)
                return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("the liveness connection broke; taking the worker lock again")
        wanted = self.worker_id
        await self._close()
        if not self.database_url:
            return
        try:
            self._conn = await _connect(self.database_url)
            self.worker_id = await self._take(self._conn, wanted)
            log.debug("worker lock %s held", self.worker_id)
            await self._try_to_lead(self._conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning(
                "cannot take the worker lock (%s); claims fall back to their lease",
                type(error).__name__,
            )
            await self._close()

    @staticmethod
    async def _take(conn: asyncpg.Connection, wanted: int | None) -> int:
        candidates = ([wanted] if wanted else []) + [
            1 + secrets.randbelow(2**31 - 2) for _ in range(20)
        ]
        for key in candidates:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", WORKER_NAMESPACE, key):
                return key
        raise asyncpg.InterfaceError("no free worker lock found")

    async def _try_to_lead(self, conn: asyncpg.Connection) -> None:
        """Also checks that the connection still answers (a broken one raises)."""
        if self._leader:
            await conn.fetchval("SELECT 1")
        elif await conn.fetchval("SELECT pg_try_advisory_lock($1, 0)", LEADER_NAMESPACE):
            self._leader = True
            log.info("this process runs the periodic jobs")

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.worker_id = None
        self._leader = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)


async def _connect(url: str) -> asyncpg.Connection:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.pop("host", None)  # a unix-socket folder (embedded PostgreSQL)
    dsn = urlunsplit(parts._replace(query=urlencode(query)))
    # The name lets an operator (and the tests) tell in pg_stat_activity which process it is.
    name = {"application_name": f"atendimento-liveness-{os.getpid()}"}
    return await asyncpg.connect(
        dsn, host=host, timeout=10, statement_cache_size=0, server_settings=KEEPALIVES | name
    )
