"""Real server processes (replicas) for the multi-process tests."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "replica-webhook-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def replica(env: dict[str, str], tmp: Path) -> AsyncIterator[str]:
    async with replica_process(env, tmp) as (url, _proc):
        yield url


@asynccontextmanager
async def replica_process(
    env: dict[str, str], tmp: Path
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real server process, ready; its URL and the process (to kill it)."""
    port = _free_port()
    log = (tmp / f"replica-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "server.py", "serve"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**env, "PORT": str(port)},
    )
    url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp / f"replica-{port}.log").read_text())
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(url + "/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        await wait_for(ready, timeout=60, interval=0.1)
        yield url, proc
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)
        log.close()
