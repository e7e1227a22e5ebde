"""Which SQL the application runs for one GraphQL request, and how PostgreSQL plans it.

The application is built in this process (`server.create_app`, workers off) and driven through
httpx's ASGI transport while asyncpg's Connection methods record every statement with its
arguments. So the plans shown are those of the SQL the application really sends today, whatever
its query modules look like. Each statement is then PREPAREd and EXECUTEd six times, as the
server's statement cache does (PostgreSQL may switch a prepared statement to a generic plan
from the sixth execution on), and EXPLAIN ANALYZE EXECUTE shows the plan it settled on.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

Statement = tuple[str, tuple[Any, ...]]


# -- arguments that survive JSON (for the floor app) -----------------------------------------


def encode_args(args: tuple[Any, ...] | list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in args:
        if isinstance(value, uuid.UUID):
            out.append({"uuid": str(value)})
        elif isinstance(value, datetime):
            out.append({"ts": value.isoformat()})
        elif isinstance(value, (list, tuple)):
            out.append({"list": encode_args(value)})
        else:
            out.append(value)
    return out


def decode_args(args: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in args:
        if isinstance(value, dict) and "uuid" in value:
            out.append(uuid.UUID(value["uuid"]))
        elif isinstance(value, dict) and "ts" in value:
            out.append(datetime.fromisoformat(value["ts"]))
        elif isinstance(value, dict) and "list" in value:
            out.append(decode_args(value["list"]))
        else:
            out.append(value)
    return out


def literal(value: Any) -> str:
    """An SQL literal for EXECUTE's argument list (typed by the prepared statement)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        items = ",".join('"' + str(v).replace('"', '\\"') + '"' for v in value)
        return "'{" + items.replace("'", "''") + "}'"
    if isinstance(value, dict):
        value = json.dumps(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


# -- recording ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.active = False
        self.statements: list[Statement] = []
        self._saved: dict[str, Any] = {}

    def install(self) -> None:
        from asyncpg.connection import Connection

        for name in ("fetch", "fetchrow", "fetchval", "execute"):
            original = getattr(Connection, name)
            self._saved[name] = original

            def wrapper(
                self_: Any, query: str, *args: Any, _original: Any = original, **kwargs: Any
            ) -> Any:
                if self.active:
                    self.statements.append((query, args))
                return _original(self_, query, *args, **kwargs)

            setattr(Connection, name, wrapper)

    def uninstall(self) -> None:
        from asyncpg.connection import Connection

        for name, original in self._saved.items():
            setattr(Connection, name, original)
        self._saved.clear()


@asynccontextmanager
async def in_process_app(db_url: str, encryption_key: str) -> AsyncIterator[httpx.AsyncClient]:
    from bench.common import JWT_SECRET, WEBHOOK_SECRET
    from server import create_app
    from services.platform.crypto import Vault
    from services.platform.settings import parse_settings

    settings = parse_settings(
        {
            "DATABASE_URL": db_url,
            "SUPABASE_JWT_SECRET": JWT_SECRET,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ENCRYPTION_KEY": encryption_key,
            "WORKERS_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "DATA_DIR": "/tmp/bench-capture",
        }
    )
    app = create_app(settings, JWT_SECRET, Vault(encryption_key, WEBHOOK_SECRET))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


async def capture(
    db_url: str, encryption_key: str, token: str, requests: dict[str, str]
) -> dict[str, list[Statement]]:
    """{label: statements} for each GraphQL request body in `requests`."""
    recorder = Recorder()
    recorder.install()
    found: dict[str, list[Statement]] = {}
    try:
        async with in_process_app(db_url, encryption_key) as client:
            headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
            for label, body in requests.items():
                await client.post("/graphql", content=body, headers=headers)  # warm caches
                recorder.statements = []
                recorder.active = True
                response = await client.post("/graphql", content=body, headers=headers)
                recorder.active = False
                answer = response.json()
                if answer.get("errors"):
                    raise RuntimeError(f"{label}: {answer['errors']}")
                found[label] = list(recorder.statements)
    finally:
        recorder.uninstall()
    return found


# -- planning ------------------------------------------------------------------------------------


def _walk(plan: dict[str, Any], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    nodes = [(depth, plan)]
    for child in plan.get("Plans", []):
        nodes += _walk(child, depth + 1)
    return nodes


def _node_text(node: dict[str, Any]) -> str:
    text = str(node["Node Type"])
    if node.get("Index Name"):
        text += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        text += f" on {node['Relation Name']}"
    return text


def is_pool_reset(sql: str) -> bool:
    return "pg_advisory_unlock_all" in sql or sql.strip().upper().startswith("RESET ALL")


def describe_statement(sql: str) -> str:
    if is_pool_reset(sql):
        return "pool reset on release (asyncpg Connection.reset: a round trip per query)"
    flat = re.sub(r"\s+", " ", sql).strip()
    tables = sorted(set(re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)", flat, re.I)))
    verb = flat.split(" ", 1)[0].upper()
    return f"{verb} {'/'.join(t for t in tables if t.lower() not in ('unnest', 'lateral'))}"


async def explain(db_url: str, statements: list[Statement]) -> list[dict[str, Any]]:
    """The plan PostgreSQL uses for each statement once the statement is warm."""
    conn = await asyncpg.connect(db_url)
    results = []
    try:
        for number, (sql, args) in enumerate(statements, 1):
            name = f"bench_plan_{number}"
            entry: dict[str, Any] = {"sql": sql, "what": describe_statement(sql)}
            if is_pool_reset(sql) or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                entry["skipped"] = "not a query"
                results.append(entry)
                continue
            try:
                await conn.execute(f"PREPARE {name} AS {sql}")
                call = (
                    f"EXECUTE {name}({', '.join(literal(a) for a in args)})"
                    if args
                    else f"EXECUTE {name}"
                )
                for _ in range(6):
                    await conn.fetch(call)
                raw = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {call}")
                plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                nodes = _walk(plan["Plan"])
                entry.update(
                    nodes=[(depth, _node_text(node)) for depth, node in nodes],
                    generic="$1" in json.dumps(plan["Plan"]),
                    ms=plan.get("Execution Time"),
                    seq_scan_messages=any(
                        node["Node Type"] == "Seq Scan"
                        and node.get("Relation Name") == "whatsapp_messages"
                        for _, node in nodes
                    ),
                    seq_scans=sorted(
                        {
                            node.get("Relation Name", "?")
                            for _, node in nodes
                            if node["Node Type"] == "Seq Scan"
                        }
                    ),
                )
            except Exception as error:
                entry["error"] = f"{type(error).__name__}: {error}"
            finally:
                try:
                    await conn.execute(f"DEALLOCATE {name}")
                except Exception:
                    pass
            results.append(entry)
    finally:
        await conn.close()
    return results


def render(label: str, results: list[dict[str, Any]]) -> list[str]:
    resets = sum(1 for e in results if is_pool_reset(e["sql"]))
    lines = [
        f"{label}: {len(results)} SQL statement(s) per request"
        + (f", {resets} of them pool resets" if resets else "")
    ]
    for number, entry in enumerate(results, 1):
        head = f"  [{number}] {entry['what']}"
        if "skipped" in entry:
            lines.append(f"{head}: ({entry['skipped']})")
            continue
        if "error" in entry:
            lines.append(f"{head}: could not explain ({entry['error']})")
            continue
        flags = [
            "generic plan" if entry["generic"] else "custom plan",
            f"{entry['ms']:.2f} ms" if entry.get("ms") is not None else "",
        ]
        if entry["seq_scan_messages"]:
            flags.append("SEQ SCAN OF whatsapp_messages")
        lines.append(f"{head}  ({', '.join(f for f in flags if f)})")
        for depth, text in entry["nodes"]:
            lines.append("      " + "  " * depth + text)
    return lines


def page_statement(statements: list[Statement]) -> Statement | None:
    """The messages-page query among a request's statements."""
    for sql, args in statements:
        flat = sql.lower()
        if "from whatsapp_messages" in flat and "limit" in flat and "order by" in flat:
            return sql, args
    return None
