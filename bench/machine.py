"""A description of the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
from typing import Any

import asyncpg
import psutil


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


async def describe(db_url: str) -> dict[str, Any]:
    pg_version = "unknown"
    pg_settings = ""
    try:
        conn = await asyncpg.connect(db_url)
        try:
            pg_version = str(await conn.fetchval("SHOW server_version"))
            rows = await conn.fetch(
                "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name",
                [
                    "shared_buffers",
                    "synchronous_commit",
                    "fsync",
                    "max_wal_size",
                    "work_mem",
                    "max_connections",
                    "jit",
                ],
            )
            pg_settings = ", ".join(
                f"{r['name']}={_pg_value(r['setting'], r['unit'])}" for r in rows
            )
        finally:
            await conn.close()
    except Exception as error:  # the description never stops the bench
        pg_version = f"unknown ({type(error).__name__})"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_settings": pg_settings,
        "disk": _disk(),
        "load_at_start": round(os.getloadavg()[0], 2),
    }


def _pg_value(setting: str, unit: str | None) -> str:
    if unit == "8kB" and setting.isdigit():
        return f"{int(setting) * 8 // 1024}MB"
    return f"{setting}{unit or ''}"


def _disk() -> str:
    try:
        usage = psutil.disk_usage("/")
        return f"{usage.total / 2**30:.0f} GiB root volume"
    except OSError:
        return "unknown"


def foreign_cpu(db_name: str, seconds: float = 1.0) -> float:
    """CPU (in cores) used over `seconds` by processes that are not this bench's: neither this
    process and its children nor PostgreSQL backends of the bench database."""
    import time

    mine = {os.getpid()}
    try:
        mine |= {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        pass
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.info["pid"] in mine:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if cmdline.startswith("postgres:") and f" {db_name} " in f" {cmdline} ":
            continue
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            pass
    time.sleep(seconds)
    total = 0.0
    for proc in procs:
        try:
            total += proc.cpu_percent(None)
        except psutil.Error:
            pass
    return total / 100


def code_version(root: str) -> str:
    """The commit measured (BENCH_COMMIT overrides), with a note when the tree differs."""
    import subprocess

    given = os.environ.get("BENCH_COMMIT", "").strip()
    if given:
        return given
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", ".", ":!bench", ":!BENCHMARKS.md"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" with uncommitted changes" if changed else "")


def one_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
        f"{machine['os']}, Python {machine['python']}, PostgreSQL {machine['postgresql']}"
    )
