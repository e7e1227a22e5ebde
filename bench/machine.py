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
    try:
        conn = await asyncpg.connect(db_url)
        try:
            pg_version = str(await conn.fetchval("SHOW server_version"))
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
    }


def code_version(root: str) -> str:
    """The commit measured (BENCH_COMMIT overrides), with a note when the tree differs."""
    import subprocess

    given = os.environ.get("BENCH_COMMIT", "").strip()
    if given:
        return given
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", ".",
                                  ":!bench", ":!BENCHMARKS.md"],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" with uncommitted changes" if changed else "")


def one_line(machine: dict[str, Any]) -> str:
    return (f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM, "
            f"{machine['os']}, Python {machine['python']}, PostgreSQL {machine['postgresql']}")
