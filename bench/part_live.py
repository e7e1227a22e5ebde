"""Parts 4 and 6: live latency (webhook posted → subscriber received, over graphql-transport-ws
with the `websockets` package) in one process and in two processes with the Redis and the
PostgreSQL broadcast backends; and RSS per idle subscriber."""

from __future__ import annotations

import asyncio
import random
import uuid
from contextlib import AsyncExitStack
from typing import Any

from bench import procs
from bench.common import (
    PYTHON,
    ROOT,
    Context,
    Figure,
    bench_redis_url,
    free_port,
    median,
    redis_problem,
)
from bench.part_ingest import drain, make_instances, store_instances
from bench.profile import profiled
from bench.queries import MESSAGE_EVENTS

# Issue #19: 200 subscribers on one number at 20 webhooks/s (4,000 copies/s) in one process.
SINGLE_P99_MS = 100.0
CPU_PER_COPY_US = 50.0
# Each webhook's own handling is shared by its copies, so the CPU per copy is only held to the
# target at the 200 subscribers (the quick run has 40: about three times the figure).
CPU_TARGET_SUBSCRIBERS = 200
BYTES_PER_SUBSCRIBER = 50 * 1024
GRACE = {"full": 10.0, "quick": 5.0}


def _ws(proc: procs.Proc) -> str:
    return f"ws://127.0.0.1:{proc.port}/graphql"


def _target(proc: procs.Proc) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": proc.port}


async def _one_live_run(
    ctx: Context, servers: list[procs.Proc], instance: dict[str, Any], subscribers: int, rate: float
) -> dict[str, Any]:
    sizes = ctx.sizes
    # Start from a quiet server: the previous run's backlog processed, its sockets gone.
    if not await drain(ctx.db_url, [instance["id"]], 300):
        ctx.note("live: the previous run's webhooks were still pending after 300 s")
    await asyncio.sleep(2.0)
    tag = uuid.uuid4().hex[:8]
    subs = procs.Background(
        "subscribers",
        {
            "tag": tag,
            "urls": [_ws(s) for s in servers],
            "n": subscribers,
            "token": ctx.token,
            "query": MESSAGE_EVENTS,
            "instance_id": instance["id"],
            "instance": instance,
            "targets": [_target(s) for s in servers],
        },
    )
    try:
        await subs.start()
        cpu_before = procs.server_cpu_seconds(servers)
        posted = await procs.loadgen(
            "poster",
            {
                "tag": tag,
                "targets": [_target(s) for s in servers],
                "instance": instance,
                "rate": rate,
                "duration": sizes.live_seconds,
                "conns": 8,
            },
        )
        # Every subscriber should get every accepted event; what has not arrived GRACE seconds
        # after the last post counts as not delivered (an infinite latency in the percentiles).
        received = await subs.finish(f"stop {posted['accepted']} {GRACE[sizes.name]}")
        cpu = procs.server_cpu_seconds(servers) - cpu_before
    except BaseException:
        subs.kill()
        raise
    # Server CPU per delivered copy (webhook handling included): unlike latency, barely moved
    # by other load on the machine, so it compares runs taken on a busy one.
    received["cpu_us"] = cpu / received["unique"] * 1e6 if received["unique"] else float("nan")
    expected = posted["accepted"] * subscribers
    received["delivered"] = received["unique"] / expected if expected else float("nan")
    received["posted"] = posted["posted"]
    received["post_p99_ms"] = posted["p99_ms"]
    received["post_errors"] = posted["errors"]
    received["post_rate"] = posted["accepted"] / max(posted["seconds"], sizes.live_seconds)
    received["not_sent"] = posted["not_sent"]
    return received


async def _scenario(
    ctx: Context,
    label: str,
    servers: list[procs.Proc],
    instance: dict[str, Any],
    target_ms: float | None,
    profile_name: str,
) -> None:
    """`target_ms` None: informational (no target is held against the figures)."""
    sizes = ctx.sizes
    rate = sizes.live_rate
    runs = []
    async with AsyncExitStack() as stack:
        for server in servers:
            await stack.enter_async_context(server)
        for run in range(sizes.runs):
            result = await _one_live_run(ctx, servers, instance, sizes.live_subscribers, rate)
            runs.append(result)
            print(
                f"    run {run + 1}/{sizes.runs} {label}: p50 {result['p50_all_ms']:.1f} ms, "
                f"p99 {result['p99_all_ms']:.1f} ms (of delivered: p50 "
                f"{result['p50_ms']:.1f}, p99 {result['p99_ms']:.1f}, max "
                f"{result['max_ms']:.0f} ms), delivered "
                f"{result['delivered'] * 100:.1f}% of {result['posted']} events × "
                f"{result['subscribers']} subscribers (posted at {result['post_rate']:.0f}/s"
                + (
                    f", {result['not_sent']} not sent: the server answered too slowly"
                    if result["not_sent"]
                    else ""
                )
                + "), "
                f"duplicates {result['duplicates']}, server CPU {result['cpu_us']:.0f} µs "
                "per delivered copy"
                + (f", errors {result['errors'][:2]}" if result["errors"] else ""),
                flush=True,
            )
        p50 = median([r["p50_all_ms"] for r in runs])
        p99 = median([r["p99_all_ms"] for r in runs])
        delivered = median([r["delivered"] for r in runs])
        grace = GRACE[sizes.name]
        late = f"undelivered {grace:g} s after the last post count as infinitely late"
        ctx.add(
            Figure(
                "live",
                f"{label}: p50",
                p50,
                "ms",
                note="" if p50 != float("inf") else late,
                runs=[r["p50_all_ms"] for r in runs],
            )
        )
        ctx.add(
            Figure(
                "live",
                f"{label}: p99",
                p99,
                "ms",
                f"≤ {target_ms:g} ms" if target_ms else "",
                (p99 <= target_ms) if target_ms else None,
                ""
                if p99 != float("inf")
                else f"{late}; p99 of those delivered: "
                f"{median([r['p99_ms'] for r in runs]):.0f} ms",
                runs=[r["p99_all_ms"] for r in runs],
            )
        )
        cpu_us = median([r["cpu_us"] for r in runs])
        cpu_held = target_ms is not None and sizes.live_subscribers >= CPU_TARGET_SUBSCRIBERS
        ctx.add(
            Figure(
                "live",
                f"{label}: server CPU per delivered copy",
                cpu_us,
                "µs",
                f"≤ {CPU_PER_COPY_US:g} µs" if cpu_held else "",
                (cpu_us <= CPU_PER_COPY_US) if cpu_held else None,
                note="webhook handling included; all processes",
            )
        )
        ctx.add(
            Figure(
                "live",
                f"{label}: webhooks accepted/s",
                median([r["post_rate"] for r in runs]),
                "ev/s",
                note=f"offered {rate:g}/s",
            )
        )
        ctx.add(
            Figure(
                "live",
                f"{label}: delivered within {grace:g} s",
                delivered * 100,
                "%",
                "100 %" if target_ms else "",
                (delivered >= 0.9999) if target_ms else None,
                f"duplicates {sum(r['duplicates'] for r in runs)}",
            )
        )
        missed = (target_ms is not None and p99 > target_ms) or (
            cpu_held and cpu_us > CPU_PER_COPY_US
        )
        if ctx.profile and missed and profile_name:
            _, lines = await profiled(
                profile_name,
                servers[0].pid,
                _one_live_run(ctx, servers, instance, sizes.live_subscribers, rate),
            )
            ctx.plans += lines + [""]
            print("\n".join("  " + line for line in lines), flush=True)


async def live(ctx: Context) -> None:
    sizes = ctx.sizes
    print(
        f"\n== 4. live latency: {sizes.live_subscribers} subscribers, {sizes.live_rate:g} "
        f"webhooks/s for {sizes.live_seconds:g} s ==",
        flush=True,
    )
    instance = make_instances(ctx, "bench-live", 1, 20, random.Random(4))[0]
    await store_instances(ctx, [instance])
    await _scenario(
        ctx,
        "1 process (memory)",
        [procs.server(ctx, "app-live", free_port())],
        instance,
        SINGLE_P99_MS,
        "live-1-process",
    )
    # Informational, at the same rate: what a broadcast backend between processes adds. The
    # issue's target is one process; two processes on two shared cores also carry each
    # other's webhook handling, so no target is held against these.
    redis_url = bench_redis_url()
    problem = await redis_problem(redis_url)
    if problem:
        ctx.note(f"Redis at {redis_url} unreachable ({problem}): two-process Redis case skipped")
    else:
        await _scenario(
            ctx,
            "2 processes (redis)",
            [
                procs.server(ctx, f"app-live-redis-{n}", free_port(), broadcast=redis_url)
                for n in (1, 2)
            ],
            instance,
            None,
            "",
        )
    await _scenario(
        ctx,
        "2 processes (postgresql)",
        [procs.server(ctx, f"app-live-pg-{n}", free_port(), broadcast=ctx.db_url) for n in (1, 2)],
        instance,
        None,
        "",
    )


async def memory(ctx: Context) -> None:
    n = ctx.sizes.memory_subscribers
    print(f"\n== 6. memory: {n} idle subscribers on one process ==", flush=True)
    instance = make_instances(ctx, "bench-memory", 1, 5, random.Random(6))[0]
    await store_instances(ctx, [instance])
    app = procs.server(ctx, "app-memory", free_port())
    spec = {
        "urls": [_ws(app)],
        "token": ctx.token,
        "query": MESSAGE_EVENTS,
        "instance_id": instance["id"],
        "instance": instance,
        "targets": [_target(app)],
        "parallel": 50,
    }
    async with app:
        warm = procs.Background("idle", {**spec, "n": 20})
        await warm.start()
        await warm.finish()
        await asyncio.sleep(2.0)
        before = app.rss()
        idle = procs.Background("idle", {**spec, "n": n})
        try:
            await idle.start(timeout=600)
            await asyncio.sleep(3.0)
            after = app.rss()
            await idle.finish()
        except BaseException:
            idle.kill()
            raise
    per = (after - before) / n
    ctx.add(
        Figure(
            "memory",
            f"RSS per idle subscriber ({n} subscribers)",
            per / 1024,
            "KB",
            f"≤ {BYTES_PER_SUBSCRIBER // 1024} KB",
            per <= BYTES_PER_SUBSCRIBER,
            f"RSS {before / 2**20:.0f} → {after / 2**20:.0f} MiB",
        )
    )
    if ctx.profile and per > BYTES_PER_SUBSCRIBER:
        lines = await _heap_profile(ctx, spec, n)
        ctx.plans += lines + [""]
        print("\n".join("  " + line for line in lines), flush=True)


async def _heap_profile(ctx: Context, spec: dict[str, Any], n: int) -> list[str]:
    """The same subscribers against the application under tracemalloc (bench/memprofile.py)."""
    import httpx

    proc = procs.server(ctx, "app-memprofile", free_port())
    proc.argv = [PYTHON, "-m", "bench.memprofile"]
    proc.env["PYTHONPATH"] = str(ROOT)
    spec = {**spec, "urls": [_ws(proc)], "targets": [_target(proc)]}
    async with proc, httpx.AsyncClient(base_url=proc.url, timeout=900) as http:
        warm = procs.Background("idle", {**spec, "n": 20})
        await warm.start()
        await warm.finish()
        await http.get("/_bench/heap/baseline")
        idle = procs.Background("idle", {**spec, "n": n})
        try:
            await idle.start(timeout=900)
            report = (await http.get("/_bench/heap/report")).json()
            await idle.finish()
        except BaseException:
            idle.kill()
            raise
    lines = [
        f"heap profile (tracemalloc) of {n} idle subscribers: Python heap grew "
        f"{report['growth'] / n / 1024:.1f} KB per subscriber (RSS adds allocator and "
        "buffer overhead)"
    ]
    lines.append(
        "  by package (where the memory was allocated): "
        + ", ".join(f"{p} {size / n / 1024:.1f} KB" for p, size in report["by_package"])
    )
    lines.append("  by file:")
    lines += [f"    {size / n / 1024:6.1f} KB  {where}" for where, size in report["top_files"]]
    lines.append("  top allocation sites (growth per subscriber, objects per subscriber):")
    lines += [
        f"    {size / n / 1024:6.1f} KB  {count / n:6.1f}  {where}"
        for where, size, count in report["top_lines"]
    ]
    return lines
