"""WEB_CONCURRENCY=2: two server processes on one port, prepared once by the parent.

A subscriber on either process receives what a webhook brought to the other (the in-memory
broadcast is replaced by PostgreSQL's), one process at a time runs the periodic jobs (and another
takes over when it dies), and the embedded PostgreSQL is started once and stopped with the parent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

from services.identity.auth import mint_token
from services.platform.crypto import Vault, new_key
from tests.helpers import (
    JWT_SECRET,
    Subscription,
    create_instance_row,
    load_payload,
    post_webhook,
    wait_for,
)
from tests.replica_processes import WEBHOOK_SECRET, _free_port

ROOT = Path(__file__).resolve().parent.parent
LIVE = """subscription($i: ID!) { messageEvents(instanceId: $i) { seq message { textContent } } }"""
LEADING = "this process runs the periodic jobs"


@asynccontextmanager
async def server(env: dict[str, str], tmp: Path) -> AsyncIterator[tuple[str, psutil.Process, Path]]:
    """`serve` with WEB_CONCURRENCY=2, ready; its URL, the parent process and its log."""
    port = _free_port()
    log_path = tmp / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "server.py", "serve"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2", "LOG_LEVEL": "INFO"},
        )
    url = f"http://127.0.0.1:{port}"
    parent = psutil.Process(proc.pid)

    async def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(log_path.read_text())
        try:
            async with httpx.AsyncClient() as client:
                answered = (await client.get(url + "/readyz")).status_code == 200
        except httpx.HTTPError:
            return False
        return answered and len(serving(parent)) == 2

    try:
        await wait_for(ready, timeout=90, interval=0.2)
        yield url, parent, log_path
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 60)


def serving(parent: psutil.Process) -> list[psutil.Process]:
    """The parent's server processes (not multiprocessing's helper processes)."""
    return [
        child
        for child in parent.children()
        if any(c.status == psutil.CONN_LISTEN for c in _connections(child))
    ]


def _connections(proc: psutil.Process) -> list[Any]:
    try:
        return list(proc.net_connections(kind="tcp"))
    except psutil.Error:
        return []


def process_of(ws: Subscription, processes: list[psutil.Process]) -> int | None:
    """Which server process holds this websocket's server end."""
    local = ws.ws.local_address[:2]
    for proc in processes:
        if any(c.raddr and tuple(c.raddr) == tuple(local) for c in _connections(proc)):
            return proc.pid
    return None


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_"))}
    env.pop("BROADCAST_URL", None)
    env.update(
        SUPABASE_JWT_SECRET=JWT_SECRET, WEBHOOK_SECRET=WEBHOOK_SECRET, DATA_DIR=str(tmp_path)
    )
    return env


async def test_live_events_cross_the_processes_and_one_leads(pg, database_url, tmp_path):
    key = new_key()
    env = {**base_env(tmp_path), "DATABASE_URL": database_url, "ENCRYPTION_KEY": key}
    vault = Vault(key, WEBHOOK_SECRET)
    instance = await create_instance_row(pg, vault)
    token = mint_token(JWT_SECRET, sub=uuid.uuid4(), role="admin")
    async with server(env, tmp_path) as (url, parent, log_path), AsyncExitStack() as stack:
        processes = serving(parent)
        ws_url = url.replace("http://", "ws://") + "/graphql"
        subscribers: list[Subscription] = []
        # The kernel spreads connections over the two processes; open until both hold some.
        for _ in range(40):
            ws = await stack.enter_async_context(Subscription.connect(ws_url, token))
            await ws.subscribe(LIVE, {"i": str(instance["id"])})
            subscribers.append(ws)
            holders = {process_of(s, processes) for s in subscribers}
            if len(holders - {None}) == 2 and len(subscribers) >= 4:
                break
        assert {p.pid for p in processes} <= holders, "no subscriber landed on each process"

        async with httpx.AsyncClient(base_url=url) as http:
            received: dict[int, str] = {}
            for attempt in range(10):  # a subscription may not be registered yet at first
                payload = load_payload("messages_upsert_text")
                payload["data"]["key"]["id"] = f"MULTI-{attempt}"
                payload["data"]["message"] = {"conversation": f"to all #{attempt}"}
                answer = await post_webhook(http, payload, vault.webhook_secret("acme-support"))
                assert answer.status_code == 200
                for index, ws in enumerate(subscribers):
                    if index in received:
                        continue
                    try:
                        event = (await ws.next_data(timeout=2))["messageEvents"]
                    except TimeoutError:
                        continue
                    received[index] = event["message"]["textContent"]
                if len(received) == len(subscribers):
                    break
        assert len(received) == len(subscribers), received
        assert all(text.startswith("to all #") for text in received.values())

        assert log_path.read_text().count(LEADING) == 1
        # The leader dies: uvicorn starts a new process, and one of the live ones leads.
        holder = await pg.fetchval(
            "SELECT application_name FROM pg_stat_activity WHERE pid = ("
            " SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 7003 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
        )
        assert holder is not None and holder.startswith("atendimento-liveness-")
        leading_process = psutil.Process(int(holder.rsplit("-", 1)[1]))
        assert leading_process.pid in {p.pid for p in processes}
        leading_process.send_signal(signal.SIGKILL)

        async def someone_else_leads() -> bool:
            return log_path.read_text().count(LEADING) == 2

        await wait_for(someone_else_leads, timeout=60, interval=0.2)


def _postgres_running(data_dir: Path) -> int:
    pgdata = str((data_dir / "postgres").resolve())
    return sum(
        1
        for proc in psutil.process_iter(["cmdline"])
        if (cmd := proc.info["cmdline"] or []) and cmd[0].endswith("/postgres") and pgdata in cmd
    )


async def test_the_embedded_postgresql_starts_once_and_stops_with_the_parent(tmp_path):
    env = {k: v for k, v in base_env(tmp_path).items() if k != "SUPABASE_JWT_SECRET"}
    async with server(env, tmp_path) as (url, parent, log_path):
        assert _postgres_running(tmp_path) == 1
        text = log_path.read_text()
        assert text.count("applying migration 0001") == 1
        assert "live events cross them through PostgreSQL" in text
        async with httpx.AsyncClient(base_url=url) as http:
            secret = (tmp_path / "jwt_secret").read_text().strip()
            token = mint_token(secret, sub=uuid.uuid4(), role="admin")
            answer = await http.post(
                "/graphql",
                json={"query": "{ instances { id } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert answer.json() == {"data": {"instances": []}}, answer.text
    assert _postgres_running(tmp_path) == 0
