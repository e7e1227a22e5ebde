"""Shared pieces of the benchmark suite: sizes, paths, secrets, statistics, figures."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CACHE = ROOT / ".data" / "bench"
LOGS = CACHE / "logs"
PROFILES = CACHE / "profiles"

# The bench admin: a fixed profile id so read marks can be seeded before the first request.
ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000bec0")
JWT_SECRET = "bench-jwt-secret-" + "b" * 40
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
EVOLUTION_KEY = "bench-evolution-global-key"
MAIN_INSTANCE = "bench-main"
SEED = 20251125


@dataclass(frozen=True)
class Sizes:
    """How big and how long; `full` is what the issue asks for, `quick` checks it works."""

    name: str
    messages_total: int
    hot_messages: int
    contacts: int
    warmup: float  # seconds of load before recording, per figure
    duration: float  # seconds recorded per figure
    runs: int  # repetitions per figure; the median is reported
    ingest_seconds: float
    ingest_instances: int
    live_subscribers: int
    live_rate: float
    live_seconds: float
    outbox_instances: int
    outbox_per_instance: int
    memory_subscribers: int


FULL = Sizes(
    name="full",
    messages_total=1_000_000,
    hot_messages=100_000,
    contacts=20_000,
    warmup=2.0,
    duration=8.0,
    runs=3,
    ingest_seconds=30.0,
    ingest_instances=8,
    live_subscribers=200,
    live_rate=20.0,
    live_seconds=15.0,
    outbox_instances=50,
    outbox_per_instance=20,
    memory_subscribers=2000,
)
QUICK = Sizes(
    name="quick",
    messages_total=60_000,
    hot_messages=10_000,
    contacts=2_000,
    warmup=0.5,
    duration=2.0,
    runs=1,
    ingest_seconds=5.0,
    ingest_instances=4,
    live_subscribers=40,
    live_rate=4.0,
    live_seconds=3.0,
    outbox_instances=10,
    outbox_per_instance=4,
    memory_subscribers=200,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    clean = [v for v in values if v == v]
    return statistics.median(clean) if clean else float("nan")


@dataclass
class Figure:
    """One line of the results table."""

    part: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None  # None: no target
    note: str = ""
    runs: list[float] = field(default_factory=list)

    def shown(self) -> str:
        if self.value is None or self.value != self.value:
            return "n/a"
        if self.value == float("inf"):
            return f"∞ {self.unit}"
        v = self.value
        if self.unit in ("ms",):
            text = f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"
        elif self.unit in ("x",):
            text = f"{v:.2f}"
        elif abs(v) >= 100:
            text = f"{v:,.0f}"
        else:
            text = f"{v:.1f}" if v != int(v) else f"{v:.0f}"
        return f"{text} {self.unit}".strip()

    def met_text(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "NO")


@dataclass
class Context:
    """What every part gets: sizes, the database, secrets and what the seeding produced."""

    sizes: Sizes
    admin_url: str  # maintenance database on the same server
    db_url: str  # the bench database
    encryption_key: str
    token: str
    seeded: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)
    profile: bool = True
    peer: bool = True

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        mark = "" if figure.met is None else ("  [met]" if figure.met else "  [MISSED]")
        print(
            f"  {figure.name}: {figure.shown()}"
            + (f"  (target {figure.target})" if figure.target else "")
            + mark
            + (f"  {figure.note}" if figure.note else ""),
            flush=True,
        )
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def env_flag(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def bench_redis_url() -> str:
    return env_flag("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/0"


async def redis_problem(url: str) -> str | None:
    """Why the Redis at `url` cannot carry a two-process case (None: it answers)."""
    from redis import asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 3)
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()
