"""Parts 4 and 6: live latency (webhook posted → subscriber received, over graphql-transport-ws
with the `websockets` package) in one process and in two processes with the Redis and the
PostgreSQL broadcast backends; and RSS per idle subscriber."""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack
from typing import Any

from bench import procs
from bench.common import Context, Figure, env_flag, free_port, median
from bench.part_ingest import drain, make_instances, store_instances
from bench.profile import profiled
from bench.queries import MESSAGE_EVENTS

SINGLE_P99_MS = 50.0
DOUBLE_P99_MS = 100.0
BYTES_PER_SUBSCRIBER = 50 * 1024


def _ws(proc: procs.Proc) -> str:
    return f"ws://127.0.0.1:{proc.port}/graphql"


def _target(proc: procs.Proc) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": proc.port}


async def _redis_ok(url: str) -> str | None:
    from redis import asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        await asyncio.wait_for(client.ping(), 3)
        return None
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()


async def _one_live_run(ctx: Context, servers: list[procs.Proc], instance: dict[str, Any],
                        subscribers: int) -> dict[str, Any]:
    sizes = ctx.sizes
    subs = procs.Background("subscribers", {
        "urls": [_ws(s) for s in servers], "n": subscribers, "token": ctx.token,
        "query": MESSAGE_EVENTS, "instance_id": instance["id"], "instance": instance,
        "targets": [_target(s) for s in servers],
    })
    try:
        await subs.start()
        posted = await procs.loadgen("poster", {
            "targets": [_target(s) for s in servers], "instance": instance,
            "rate": sizes.live_rate, "duration": sizes.live_seconds, "conns": 8})
        await drain(ctx.db_url, [instance["id"]], 60)
        await asyncio.sleep(2.0)  # the last events reach the sockets
        received = await subs.finish()
    except BaseException:
        subs.kill()
        raise
    expected = posted["accepted"] * subscribers
    received["delivered"] = received["unique"] / expected if expected else float("nan")
    received["posted"] = posted["posted"]
    received["post_p99_ms"] = posted["p99_ms"]
    received["post_errors"] = posted["errors"]
    return received


async def _scenario(ctx: Context, label: str, servers: list[procs.Proc],
                    instance: dict[str, Any], target_ms: float, profile_name: str) -> None:
    sizes = ctx.sizes
    runs = []
    async with AsyncExitStack() as stack:
        for server in servers:
            await stack.enter_async_context(server)
        for run in range(sizes.runs):
            result = await _one_live_run(ctx, servers, instance, sizes.live_subscribers)
            runs.append(result)
            print(f"    run {run + 1}/{sizes.runs} {label}: p50 {result['p50_ms']:.1f} ms, "
                  f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.0f} ms, delivered "
                  f"{result['delivered'] * 100:.1f}% of {result['posted']} events × "
                  f"{result['subscribers']} subscribers, duplicates {result['duplicates']}"
                  + (f", errors {result['errors'][:2]}" if result["errors"] else ""), flush=True)
        p99 = median([r["p99_ms"] for r in runs])
        delivered = median([r["delivered"] for r in runs])
        ctx.add(Figure("live", f"{label}: p50", median([r["p50_ms"] for r in runs]), "ms",
                       runs=[r["p50_ms"] for r in runs]))
        ctx.add(Figure("live", f"{label}: p99", p99, "ms", f"≤ {target_ms:g} ms",
                       p99 <= target_ms, runs=[r["p99_ms"] for r in runs]))
        ctx.add(Figure("live", f"{label}: delivered", delivered * 100, "%", "100 %",
                       delivered >= 0.9999,
                       f"duplicates {sum(r['duplicates'] for r in runs)}"))
        if ctx.profile and p99 > target_ms and profile_name:
            _, lines = await profiled(profile_name, servers[0].pid,
                                      _one_live_run(ctx, servers, instance,
                                                    sizes.live_subscribers))
            ctx.plans += lines + [""]
            print("\n".join("  " + line for line in lines), flush=True)


async def live(ctx: Context) -> None:
    sizes = ctx.sizes
    print(f"\n== 4. live latency: {sizes.live_subscribers} subscribers, {sizes.live_rate:g} "
          f"webhooks/s for {sizes.live_seconds:g} s ==", flush=True)
    instance = make_instances(ctx, "bench-live", 1, 20, random.Random(4))[0]
    await store_instances(ctx, [instance])
    await _scenario(ctx, "1 process (memory)",
                    [procs.server(ctx, "app-live", free_port())],
                    instance, SINGLE_P99_MS, "live-1-process")
    redis_url = env_flag("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/0"
    problem = await _redis_ok(redis_url)
    if problem:
        ctx.note(f"Redis at {redis_url} unreachable ({problem}): two-process Redis case skipped")
    else:
        await _scenario(ctx, "2 processes (redis)",
                        [procs.server(ctx, f"app-live-redis-{n}", free_port(),
                                      broadcast=redis_url) for n in (1, 2)],
                        instance, DOUBLE_P99_MS, "")
    await _scenario(ctx, "2 processes (postgresql)",
                    [procs.server(ctx, f"app-live-pg-{n}", free_port(), broadcast=ctx.db_url)
                     for n in (1, 2)],
                    instance, DOUBLE_P99_MS, "")


async def memory(ctx: Context) -> None:
    n = ctx.sizes.memory_subscribers
    print(f"\n== 6. memory: {n} idle subscribers on one process ==", flush=True)
    instance = make_instances(ctx, "bench-memory", 1, 5, random.Random(6))[0]
    await store_instances(ctx, [instance])
    app = procs.server(ctx, "app-memory", free_port())
    spec = {"urls": [_ws(app)], "token": ctx.token, "query": MESSAGE_EVENTS,
            "instance_id": instance["id"], "instance": instance, "targets": [_target(app)],
            "parallel": 50}
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
    ctx.add(Figure("memory", f"RSS per idle subscriber ({n} subscribers)", per / 1024, "KB",
                   f"≤ {BYTES_PER_SUBSCRIBER // 1024} KB", per <= BYTES_PER_SUBSCRIBER,
                   f"RSS {before / 2**20:.0f} → {after / 2**20:.0f} MiB"))
