"""python -m bench [messages contacts ingest live outbox memory report] [--quick] [options]

Creates (drops first) the bench database on the local PostgreSQL, migrates it with
`server.py migrate`, seeds it by COPY, runs the selected parts (all by default) against real
`server.py serve` processes, prints the table, and rewrites BENCHMARKS.md after a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from bench import machine, report, seed
from bench.common import (
    ADMIN_ID,
    CACHE,
    FULL,
    JWT_SECRET,
    QUICK,
    ROOT,
    SEED,
    Context,
    env_flag,
)

PARTS = ("messages", "contacts", "ingest", "live", "outbox", "memory", "report")
# Parts that seed a scratch database of their own instead of the shared bench database.
SELF_SEEDED = {"report"}
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/atendimento_bench"


RUNNERS = {
    "messages": ("bench.part_read", "messages"),
    "contacts": ("bench.part_read", "contacts"),
    "ingest": ("bench.part_ingest", "ingest"),
    "live": ("bench.part_live", "live"),
    "outbox": ("bench.part_outbox", "outbox"),
    "memory": ("bench.part_live", "memory"),
    "report": ("bench.part_report", "report"),
}


def _runner(name: str) -> Callable[[Context], Awaitable[None]]:
    module, function = RUNNERS[name]
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


async def _wait_idle(limit: float, db_name: str) -> None:
    """Wait (at most `limit` seconds) until other processes use less than a third of a core."""
    deadline = time.monotonic() + limit
    told = False
    while time.monotonic() < deadline:
        busy = await asyncio.to_thread(machine.foreign_cpu, db_name, 3.0)
        if busy < 0.33:
            return
        if not told:
            print(
                f"waiting for the machine to be quiet (other processes use {busy:.1f} cores)…",
                flush=True,
            )
            told = True
        await asyncio.sleep(5)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(args: argparse.Namespace) -> int:
    from services.identity.auth import mint_token

    sizes = QUICK if args.quick else FULL
    if args.runs or args.duration:
        sizes = dataclasses.replace(
            sizes, runs=args.runs or sizes.runs, duration=args.duration or sizes.duration
        )
    db_url = (env_flag("BENCH_DATABASE_URL") or DEFAULT_DB).replace(
        "postgres://", "postgresql://", 1
    )
    ctx = Context(
        sizes=sizes,
        admin_url=seed.with_database(db_url, "postgres"),
        db_url=db_url,
        encryption_key=Fernet.generate_key().decode(),
        token=mint_token(
            JWT_SECRET, sub=ADMIN_ID, role="admin", name="Bench Admin", ttl_seconds=2 * 24 * 3600
        ),
        profile=not args.no_profile and not args.quick,
        peer=not args.no_peer,
    )
    ctx.seeded["seed"] = SEED
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    described = await machine.describe(ctx.admin_url)
    described["code"] = machine.code_version(str(ROOT))
    print(f"machine: {machine.one_line(described)}", flush=True)
    busy = await asyncio.to_thread(machine.foreign_cpu, seed.database_name(ctx.db_url))
    if busy > 0.2:
        print(
            f"warning: other processes use {busy:.1f} of the {described['cores']} cores: the "
            "figures will show it (--wait-idle SECONDS waits for a quiet machine)",
            flush=True,
        )
    selected = args.parts or list(PARTS)
    if set(selected) - SELF_SEEDED:
        await seed.prepare(ctx, tempfile.mkdtemp(prefix="bench-migrate-"))
    if args.wait_idle:
        await _wait_idle(args.wait_idle, seed.database_name(ctx.db_url))
    failed = []
    try:
        for name in PARTS:
            if name not in selected:
                continue
            busy = await asyncio.to_thread(machine.foreign_cpu, seed.database_name(ctx.db_url))
            if busy > 0.2:
                ctx.note(
                    f"when part {name} started, other processes used {busy:.1f} of the "
                    "2 cores: its figures are lower than on a quiet machine"
                )
            try:
                await _runner(name)(ctx)
            except Exception as error:
                traceback.print_exc()
                failed.append(name)
                ctx.note(f"part {name} failed: {type(error).__name__}: {error}")
    finally:
        if not args.keep_db:
            await seed.drop_database(ctx.admin_url, seed.database_name(ctx.db_url))
    elapsed = time.monotonic() - t0
    described["load_at_end"] = round(os.getloadavg()[0], 2)
    report.print_table(ctx, described)
    command = "make bench" if not sys.argv[1:] else "python -m bench " + " ".join(sys.argv[1:])
    complete = (
        set(selected) == set(PARTS) and not args.quick and not args.runs and not args.duration
    )
    target = (
        Path(args.output)
        if args.output
        else (ROOT / "BENCHMARKS.md" if complete else CACHE / "last-run.md")
    )
    report.write_markdown(target, ctx, described, command, started, elapsed)
    print(f"\nwritten to {target} ({elapsed / 60:.1f} min)")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts", nargs="*", metavar="PART", help=f"parts to run (default: all): {' '.join(PARTS)}"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small data, short runs and no profiles, to check that the suite "
        "works (a few minutes)",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip PostGraphile")
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="don't run py-spy on figures that miss their targets",
    )
    parser.add_argument("--runs", type=int, help="repetitions per figure (median reported)")
    parser.add_argument("--duration", type=float, help="seconds recorded per HTTP figure")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to leave the CPU",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--output",
        help="write the report here (default: BENCHMARKS.md after "
        "a full run of every part, else .data/bench/last-run.md)",
    )
    args = parser.parse_args()
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {' '.join(unknown)}; choose from {' '.join(PARTS)}")
    _raise_fd_limit()
    # SIGTERM stops the bench like Ctrl-C: servers and load generators are stopped on the way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    os.chdir(ROOT)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
