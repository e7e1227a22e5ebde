"""Processes the bench starts: application servers, the Evolution stand-in, the peer, the floor,
and the load generator. Each writes its output to .data/bench/logs/<name>.log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import EVOLUTION_KEY, JWT_SECRET, LOGS, PYTHON, ROOT, WEBHOOK_SECRET, Context


class Proc:
    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        ready_path: str = "/readyz",
        cwd: Path = ROOT,
    ) -> None:
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.ready_path, self.cwd = ready_path, cwd
        self.popen: subprocess.Popen[bytes] | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Proc:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.popen = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if self.popen is not None and self.popen.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.popen.returncode}:\n{self.log_tail()}"
                    )
                try:
                    response = await http.get(self.url + self.ready_path)
                    if response.status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    async def __aenter__(self) -> Proc:
        self.start()
        try:
            await self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)


def server(
    ctx: Context,
    name: str,
    port: int,
    *,
    broadcast: str = "memory://",
    evolution_url: str | None = None,
    extra: dict[str, str] | None = None,
) -> Proc:
    """`server.py serve` as operators run it, configured entirely by the environment."""
    data_dir = tempfile.mkdtemp(prefix=f"bench-{name}-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DB_"))},
        "DATABASE_URL": ctx.db_url,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ENCRYPTION_KEY": ctx.encryption_key,
        "DATA_DIR": data_dir,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "BROADCAST_URL": broadcast,
        "SEND_INTERVAL_SECONDS": "1",
        "GRAPHIQL": "true",
        "WORKERS_ENABLED": "true",
        # The flood limits (per number, per address) guard a deployment; here they would
        # measure themselves: the load comes from one address to a few numbers.
        "WEBHOOK_RATE_PER_SECOND": "100000",
        "WEBHOOK_SOURCE_RATE_PER_SECOND": "1000000",
    }
    if evolution_url:
        env["EVOLUTION_API_BASE_URL"] = evolution_url
        env["EVOLUTION_API_KEY"] = EVOLUTION_KEY
    env.update(extra or {})
    return Proc(name, [PYTHON, "server.py", "serve"], env, port)


def standin(port: int) -> Proc:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return Proc(
        "evolution-standin",
        [PYTHON, "-m", "bench.standin_main", str(port), EVOLUTION_KEY],
        env,
        port,
        ready_path="/_bench/ready",
    )


def floor(ctx: Context, port: int, sql_file: Path) -> Proc:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BENCH_DB_URL": ctx.db_url,
        "BENCH_SQL_FILE": str(sql_file),
    }
    return Proc(
        "floor", [PYTHON, "-m", "bench.floor_app", str(port)], env, port, ready_path="/ready"
    )


async def loadgen(mode: str, spec: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
    """Run the load generator in its own process; it answers one JSON object."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "bench.loadgen",
        mode,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(json.dumps(spec).encode()), timeout)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen {mode} failed ({proc.returncode}): {err.decode()[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


class Background:
    """A load generator that runs alongside other steps (subscribers), with a READY handshake:
    it prints READY once set up, and stops when told through its stdin."""

    def __init__(self, mode: str, spec: dict[str, Any]) -> None:
        self.mode, self.spec = mode, spec
        self.proc: asyncio.subprocess.Process | None = None
        self.pid = 0

    async def start(self, timeout: float = 300.0) -> dict[str, Any]:
        self.proc = await asyncio.create_subprocess_exec(
            PYTHON,
            "-m",
            "bench.loadgen",
            self.mode,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            limit=64 * 1024 * 1024,
        )
        self.pid = self.proc.pid
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(self.spec).encode() + b"\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line.startswith(b"READY"):
            err = await self.proc.stderr.read() if self.proc.stderr else b""
            raise RuntimeError(
                f"loadgen {self.mode} did not start: {line!r} {err.decode()[-3000:]}"
            )
        return json.loads(line[5:] or b"{}")  # type: ignore[no-any-return]

    async def finish(self, command: str = "stop", timeout: float = 300.0) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        self.proc.stdin.close()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = await asyncio.wait_for(self.proc.stdout.read(), timeout)
        err = await self.proc.stderr.read()
        await self.proc.wait()
        if self.proc.returncode != 0:
            raise RuntimeError(f"loadgen {self.mode} failed: {err.decode()[-3000:]}")
        return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User and system CPU time so far of these processes (one gone meanwhile counts nothing)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


def server_cpu_seconds(servers: list[Proc]) -> float:
    """CPU time so far of these servers, their worker processes (WEB_CONCURRENCY) included."""
    roots = [psutil.Process(server.pid) for server in servers]
    return cpu_seconds([p for root in roots for p in (root, *root.children(recursive=True))])
