"""Parts 1 and 2: the messages page (against PostGraphile and the bare floor, side by side) and
the contact list with its searches; plus the SQL plans of both."""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import AsyncExitStack
from typing import Any

import httpx

from bench import peer, procs, sqlplan
from bench.common import CACHE, Context, Figure, free_port, median
from bench.profile import profiled
from bench.queries import CONTACT_LIST, MESSAGES_PAGE, body

FLOOR_P50_RATIO_TARGET = 1.5  # the messages page's c=1 p50 within 1.5x of the bare-SQL floor's
PEER_RATIO_TARGET = 0.5
CONTACTS_P50_TARGET_MS = 5.0


def _app_headers(ctx: Context) -> dict[str, str]:
    return {"content-type": "application/json", "Authorization": f"Bearer {ctx.token}"}


def _requests(ctx: Context) -> dict[str, str]:
    seeded = ctx.seeded
    instance = seeded["main_instance_id"]
    return {
        "messages page": body(MESSAGES_PAGE, {"contactId": seeded["hot_contact_id"]}),
        "contact list": body(CONTACT_LIST, {"instanceId": instance}),
        "contact search by name": body(
            CONTACT_LIST, {"instanceId": instance, "search": seeded["name_fragments"][0]}
        ),
        "contact search by phone": body(
            CONTACT_LIST, {"instanceId": instance, "search": seeded["phone_fragments"][0]}
        ),
    }


async def ensure_plans(ctx: Context) -> dict[str, Any]:
    """Capture the application's SQL for each read and EXPLAIN it (once per bench run)."""
    if "plans" in ctx.seeded:
        return ctx.seeded["plans"]  # type: ignore[no-any-return]
    print("capturing the application's SQL and its plans…", flush=True)
    found: dict[str, Any] = {"statements": {}, "explained": {}}
    try:
        captured = await sqlplan.capture(ctx.db_url, ctx.encryption_key, ctx.token, _requests(ctx))
    except Exception as error:
        ctx.note(f"could not capture the application's SQL: {type(error).__name__}: {error}")
        ctx.seeded["plans"] = found
        return found
    for label, statements in captured.items():
        explained = await sqlplan.explain(ctx.db_url, statements)
        found["statements"][label] = statements
        found["explained"][label] = explained
        lines = sqlplan.render(label, explained)
        ctx.plans += lines + [""]
        print("\n".join("  " + line for line in lines), flush=True)
    ctx.seeded["plans"] = found
    return found


def _seq_scan_figure(ctx: Context, plans: dict[str, Any], label: str, part: str) -> None:
    explained = plans["explained"].get(label)
    if explained is None:
        ctx.add(
            Figure(
                part,
                f"seq scans of whatsapp_messages ({label} SQL)",
                None,
                "",
                "0",
                None,
                "plan not captured",
            )
        )
        return
    scans = sum(1 for e in explained if e.get("seq_scan_messages"))
    queries = [e for e in explained if "skipped" not in e]
    others = sorted({t for e in explained for t in e.get("seq_scans", [])})
    ctx.add(
        Figure(
            part,
            f"seq scans of whatsapp_messages ({label} SQL)",
            scans,
            "",
            "0",
            scans == 0,
            f"{len(queries)} queries" + (f"; seq scans of: {', '.join(others)}" if others else ""),
        )
    )


async def _check(
    http: httpx.AsyncClient,
    url: str,
    method: str,
    headers: dict[str, str],
    content: str | None,
    want: str,
) -> None:
    response = await http.request(method, url, headers=headers, content=content)
    text = response.text
    if response.status_code != 200 or '"errors"' in text or want not in text:
        raise RuntimeError(f"{url} answered {response.status_code}: {text[:500]}")


async def _matrix(
    ctx: Context, cases: dict[str, dict[str, Any]], concurrencies: tuple[int, ...]
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every case at every concurrency, `runs` times, interleaved so that ratios compare
    measurements taken side by side."""
    results: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    sizes = ctx.sizes
    for run in range(sizes.runs):
        for concurrency in concurrencies:
            for name, spec in cases.items():
                result = await procs.loadgen(
                    "http",
                    {
                        **spec,
                        "concurrency": concurrency,
                        "warmup": sizes.warmup,
                        "duration": sizes.duration,
                    },
                )
                results[(name, concurrency)].append(result)
                print(
                    f"    run {run + 1}/{sizes.runs} {name} c={concurrency}: "
                    f"{result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
                    f"p99 {result['p99_ms']:.2f} ms"
                    + (
                        f", {result['errors']} errors {result['error_samples'][:1]}"
                        if result["errors"]
                        else ""
                    ),
                    flush=True,
                )
    return results


def _med(results: list[dict[str, Any]], key: str) -> float:
    return median([r[key] for r in results])


TWO_PROCESSES = "atendimento WEB_CONCURRENCY=2"


async def messages(ctx: Context) -> None:
    print("\n== 1. messages page ==", flush=True)
    seeded = ctx.seeded
    plans = await ensure_plans(ctx)
    _seq_scan_figure(ctx, plans, "messages page", "messages")
    page = sqlplan.page_statement(plans["statements"].get("messages page", []))
    app = procs.server(ctx, "app-read", free_port())
    cases: dict[str, dict[str, Any]] = {
        "atendimento": {
            "port": app.port,
            "path": "/graphql",
            "headers": _app_headers(ctx),
            "bodies": [body(MESSAGES_PAGE, {"contactId": seeded["hot_contact_id"]})],
        },
    }
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app)
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        await _check(
            http,
            app.url + "/graphql",
            "POST",
            _app_headers(ctx),
            cases["atendimento"]["bodies"][0],
            '"hasNextPage":true',
        )
        if ctx.peer:
            try:
                description = peer.install()
                peer_proc = peer.process(ctx.db_url, free_port())
                await stack.enter_async_context(peer_proc)
                query = await peer.discover(peer_proc.url)
                peer_body = body(query, {"contactId": seeded["hot_contact_id"]})
                await _check(
                    http,
                    peer_proc.url + "/graphql",
                    "POST",
                    {"content-type": "application/json"},
                    peer_body,
                    '"hasNextPage":true',
                )
                cases["postgraphile"] = {
                    "port": peer_proc.port,
                    "path": "/graphql",
                    "headers": {"content-type": "application/json"},
                    "bodies": [peer_body],
                }
                print(f"  peer: {description}", flush=True)
                seeded["peer"] = description
            except (peer.PeerUnavailable, RuntimeError, OSError) as error:
                ctx.note(f"PostGraphile peer unavailable: {error}")
        else:
            ctx.note("PostGraphile peer skipped (--no-peer)")
        if page is not None:
            sql_file = CACHE / "floor_sql.json"
            sql_file.write_text(json.dumps({"sql": page[0], "args": sqlplan.encode_args(page[1])}))
            floor = procs.floor(ctx, free_port(), sql_file)
            await stack.enter_async_context(floor)
            await _check(http, floor.url + "/messages", "GET", {}, None, '"messages"')
            cases["floor"] = {
                "port": floor.port,
                "path": "/messages",
                "method": "GET",
                "headers": {},
                "bodies": [None],
            }
        else:
            ctx.note("floor skipped: the messages-page SQL was not captured")
        # The same server with WEB_CONCURRENCY=2, for the ratio of two processes to one.
        two = procs.server(ctx, "app-read-2", free_port(), extra={"WEB_CONCURRENCY": "2"})
        await stack.enter_async_context(two)
        cases[TWO_PROCESSES] = {**cases["atendimento"], "port": two.port}
        results = await _matrix(ctx, cases, (1, 32))

        for name in cases:
            for c in (1, 32):
                runs = results[(name, c)]
                p50 = _med(runs, "p50_ms")
                ctx.add(
                    Figure(
                        "messages",
                        f"{name} c={c} throughput",
                        _med(runs, "rps"),
                        "req/s",
                        runs=[r["rps"] for r in runs],
                    )
                )
                ctx.add(
                    Figure(
                        "messages",
                        f"{name} c={c} p50",
                        p50,
                        "ms",
                        runs=[r["p50_ms"] for r in runs],
                    )
                )
                ctx.add(
                    Figure(
                        "messages",
                        f"{name} c={c} p99",
                        _med(runs, "p99_ms"),
                        "ms",
                        runs=[r["p99_ms"] for r in runs],
                    )
                )
                errors = sum(r["errors"] for r in runs)
                if errors:
                    ctx.note(f"{name} c={c}: {errors} failed requests")
        ratio_ok = None
        for other in ("postgraphile", "floor"):
            for c in (1, 32):
                if other not in cases:
                    ctx.add(
                        Figure(
                            "messages",
                            f"atendimento / {other} throughput c={c}",
                            None,
                            "x",
                            f"≥ {PEER_RATIO_TARGET}" if other == "postgraphile" and c == 32 else "",
                            None,
                            f"{other} not measured",
                        )
                    )
                    continue
                pairs = list(zip(results[("atendimento", c)], results[(other, c)], strict=True))
                ratio = median([a["rps"] / b["rps"] for a, b in pairs if b["rps"]])
                target = other == "postgraphile" and c == 32
                if target:
                    ratio_ok = ratio >= PEER_RATIO_TARGET
                ctx.add(
                    Figure(
                        "messages",
                        f"atendimento / {other} throughput c={c}",
                        ratio,
                        "x",
                        f"≥ {PEER_RATIO_TARGET}" if target else "",
                        ratio_ok if target else None,
                        "median of per-run ratios",
                    )
                )
        p50_ok = None
        if "floor" in cases:
            pairs = list(zip(results[("atendimento", 1)], results[("floor", 1)], strict=True))
            ratio = median([a["p50_ms"] / b["p50_ms"] for a, b in pairs if b["p50_ms"]])
            p50_ok = ratio <= FLOOR_P50_RATIO_TARGET
            ctx.add(
                Figure(
                    "messages",
                    "atendimento / floor p50 c=1",
                    ratio,
                    "x",
                    f"≤ {FLOOR_P50_RATIO_TARGET}",
                    p50_ok,
                    "median of per-run ratios",
                )
            )
        for c in (1, 32):
            pairs = list(zip(results[(TWO_PROCESSES, c)], results[("atendimento", c)], strict=True))
            ctx.add(
                Figure(
                    "messages",
                    f"WEB_CONCURRENCY=2 / 1 throughput c={c}",
                    median([a["rps"] / b["rps"] for a, b in pairs if b["rps"]]),
                    "x",
                    note="median of per-run ratios; both processes share the machine's cores "
                    "with PostgreSQL and the load generator",
                )
            )
        if ctx.profile and (ratio_ok is False or p50_ok is False):
            spec = {
                **cases["atendimento"],
                "concurrency": 32,
                "warmup": 0.5,
                "duration": max(ctx.sizes.duration, 5.0),
            }
            _, lines = await profiled("messages-page-c32", app.pid, procs.loadgen("http", spec))
            ctx.plans += lines + [""]
            ctx.seeded.setdefault("profiles", []).append(lines)
            print("\n".join("  " + line for line in lines), flush=True)


async def contacts(ctx: Context) -> None:
    print("\n== 2. contact list ==", flush=True)
    seeded = ctx.seeded
    plans = await ensure_plans(ctx)
    for label in ("contact list", "contact search by name", "contact search by phone"):
        _seq_scan_figure(ctx, plans, label, "contacts")
    instance = seeded["main_instance_id"]
    app = procs.server(ctx, "app-contacts", free_port())
    headers = _app_headers(ctx)
    cases = {
        "contact list": [body(CONTACT_LIST, {"instanceId": instance})],
        "search by name": [
            body(CONTACT_LIST, {"instanceId": instance, "search": f})
            for f in seeded["name_fragments"]
        ],
        "search by phone": [
            body(CONTACT_LIST, {"instanceId": instance, "search": f})
            for f in seeded["phone_fragments"]
        ],
    }
    specs = {
        name: {"port": app.port, "path": "/graphql", "headers": headers, "bodies": bodies}
        for name, bodies in cases.items()
    }
    async with app, httpx.AsyncClient(timeout=30) as http:
        for bodies in cases.values():
            for one in bodies:
                await _check(http, app.url + "/graphql", "POST", headers, one, '"edges"')
        results = await _matrix(ctx, specs, (1, 32))
        for name in cases:
            for c in (1, 32):
                runs = results[(name, c)]
                p50 = _med(runs, "p50_ms")
                target = name == "contact list" and c == 1
                ctx.add(
                    Figure(
                        "contacts",
                        f"{name} c={c} p50",
                        p50,
                        "ms",
                        f"≤ {CONTACTS_P50_TARGET_MS:g} ms" if target else "",
                        (p50 <= CONTACTS_P50_TARGET_MS) if target else None,
                        runs=[r["p50_ms"] for r in runs],
                    )
                )
                ctx.add(
                    Figure(
                        "contacts",
                        f"{name} c={c} p99",
                        _med(runs, "p99_ms"),
                        "ms",
                        runs=[r["p99_ms"] for r in runs],
                    )
                )
                ctx.add(
                    Figure(
                        "contacts",
                        f"{name} c={c} throughput",
                        _med(runs, "rps"),
                        "req/s",
                        runs=[r["rps"] for r in runs],
                    )
                )
                errors = sum(r["errors"] for r in runs)
                if errors:
                    ctx.note(f"{name} c={c}: {errors} failed requests")
        p50 = _med(results[("contact list", 1)], "p50_ms")
        if ctx.profile and p50 > CONTACTS_P50_TARGET_MS:
            spec = {
                **specs["contact list"],
                "concurrency": 1,
                "warmup": 0.5,
                "duration": max(ctx.sizes.duration, 5.0),
            }
            _, lines = await profiled("contact-list-c1", app.pid, procs.loadgen("http", spec))
            ctx.plans += lines + [""]
            ctx.seeded.setdefault("profiles", []).append(lines)
            print("\n".join("  " + line for line in lines), flush=True)
