"""The load generator, run as its own process so it never shares an event loop with what it
measures. A JSON spec arrives on stdin; one JSON line of results leaves on stdout.

    python -m bench.loadgen http | webhooks | floor_insert | poster     (one shot)
    python -m bench.loadgen subscribers | idle                            (READY, then "stop")

HTTP is spoken over raw asyncio streams (HTTP/1.1 keep-alive, one connection per concurrent
client), which costs far less CPU per request than a full client library: on two cores the
generator must stay light. Latency is time.perf_counter around one request; live latency uses
time.monotonic_ns, the same clock in every process of the machine.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentile

TEMPLATE = (
    Path(__file__).resolve().parent.parent / "tests" / "payloads" / "messages_upsert_text.json"
)


# -- a minimal HTTP/1.1 client ----------------------------------------------------------------


class HttpConn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, limit=16 * 1024 * 1024
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(lower[at + 17 : end]))
        elif b"transfer-encoding: chunked" in lower:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(parts)
        else:
            body = await self.reader.read()
            self.close()
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, body


def build_request(
    method: str, host: str, port: int, path: str, headers: dict[str, str], body: str | bytes | None
) -> bytes:
    data = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if method != "GET" or data:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def summary(latencies: list[float], count: int, errors: int, seconds: float) -> dict[str, Any]:
    return {
        "requests": count,
        "errors": errors,
        "seconds": seconds,
        "rps": count / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": (sum(latencies) / len(latencies) * 1000) if latencies else float("nan"),
    }


# -- closed-loop HTTP ---------------------------------------------------------------------------


async def run_http(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec.get("host", "127.0.0.1"), spec["port"]
    raws = [
        build_request(
            spec.get("method", "POST"), host, port, spec["path"], spec.get("headers", {}), body
        )
        for body in spec.get("bodies", [None])
    ]
    bad = [s.encode() for s in spec.get("bad", ['"errors"'])]
    concurrency, warmup, duration = spec["concurrency"], spec["warmup"], spec["duration"]
    latencies: list[float] = []
    errors = [0]
    samples: list[str] = []
    start = time.perf_counter()
    record_from, end = start + warmup, start + warmup + duration

    async def client(number: int) -> None:
        conn = HttpConn(host, port)
        i = number
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= end:
                    return
                raw = raws[i % len(raws)]
                i += 1
                try:
                    status, body = await conn.request(raw)
                except (OSError, asyncio.IncompleteReadError) as error:
                    conn.close()
                    status, body = 0, str(error).encode()
                t1 = time.perf_counter()
                if t0 < record_from:
                    continue
                if status != 200 or any(b in body for b in bad):
                    errors[0] += 1
                    if len(samples) < 3:
                        samples.append(f"{status}: {body[:300]!r}")
                else:
                    latencies.append(t1 - t0)
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    result = summary(latencies, len(latencies), errors[0], duration)
    result["error_samples"] = samples
    return result


# -- webhooks -----------------------------------------------------------------------------------


class Upserts:
    """messages.upsert bodies in the shape of tests/payloads/messages_upsert_text.json, each
    with its own key.id."""

    def __init__(self, prefix: str) -> None:
        self.template = json.loads(TEMPLATE.read_text())
        self.template["data"]["key"].pop("remoteJidAlt", None)
        self.prefix = prefix
        self.count = 0

    def make(
        self,
        instance: dict[str, Any],
        jid: str,
        text: str | None = None,
        message_id: str | None = None,
    ) -> tuple[str, bytes]:
        self.count += 1
        payload = dict(self.template)
        data = dict(payload["data"])
        key = dict(data["key"])
        message_id = message_id or f"{self.prefix}{self.count:08X}{uuid.uuid4().hex[:8].upper()}"
        key["id"], key["remoteJid"] = message_id, jid
        data["key"] = key
        data["pushName"] = "Cliente " + jid[4:10]
        message = dict(data["message"])
        message["conversation"] = text or f"Mensagem de carga {self.count}"
        data["message"] = message
        data["messageTimestamp"] = int(time.time())
        payload["data"] = data
        payload["instance"], payload["apikey"] = instance["name"], instance["token"]
        return message_id, json.dumps(payload, separators=(",", ":")).encode()


def webhook_request(host: str, port: int, instance: dict[str, Any], body: bytes) -> bytes:
    return build_request(
        "POST",
        host,
        port,
        "/api/webhooks/evolution",
        {"content-type": "application/json", "x-atendimento-secret": instance["secret"]},
        body,
    )


async def run_webhooks(spec: dict[str, Any]) -> dict[str, Any]:
    """Closed loop at `concurrency`: every request a new event, every `redeliver_every`-th a
    redelivery of an earlier body (Evolution repeats itself; the answer must be "duplicate")."""
    host, port = spec.get("host", "127.0.0.1"), spec["port"]
    instances, concurrency, duration = spec["instances"], spec["concurrency"], spec["duration"]
    redeliver_every = spec.get("redeliver_every", 0)
    rng = random.Random(spec.get("seed", 1))
    upserts = Upserts(spec.get("prefix", "BI"))
    latencies: list[float] = []
    accepted: list[str] = []
    counts = {
        "posted": 0,
        "accepted": 0,
        "duplicate_answers": 0,
        "redelivered": 0,
        "errors": 0,
        "other": 0,
    }
    samples: list[str] = []
    sent: list[tuple[dict[str, Any], bytes]] = []
    start = time.perf_counter()
    end = start + duration

    async def client(number: int) -> None:
        conn = HttpConn(host, port)
        try:
            while time.perf_counter() < end:
                redelivery = bool(redeliver_every and sent and rng.randrange(redeliver_every) == 0)
                if redelivery:
                    instance, body = rng.choice(sent)
                    message_id = None
                else:
                    instance = rng.choice(instances)
                    message_id, body = upserts.make(instance, rng.choice(instance["jids"]))
                raw = webhook_request(host, port, instance, body)
                t0 = time.perf_counter()
                try:
                    status, answer = await conn.request(raw)
                except (OSError, asyncio.IncompleteReadError) as error:
                    conn.close()
                    status, answer = 0, str(error).encode()
                latencies.append(time.perf_counter() - t0)
                counts["posted"] += 1
                if redelivery:
                    counts["redelivered"] += 1
                if status == 200 and b'"accepted"' in answer:
                    counts["accepted"] += 1
                    if message_id is not None:
                        accepted.append(message_id)
                        if len(sent) < 5000:
                            sent.append((instance, body))
                elif status == 200 and b'"duplicate"' in answer:
                    counts["duplicate_answers"] += 1
                elif status == 200:
                    counts["other"] += 1
                else:
                    counts["errors"] += 1
                    if len(samples) < 3:
                        samples.append(f"{status}: {answer[:300]!r}")
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    seconds = time.perf_counter() - start
    Path(spec["ids_file"]).write_text("\n".join(accepted))
    result = summary(latencies, counts["posted"], counts["errors"], seconds)
    result.update(counts, accepted_per_s=len(accepted) / seconds, error_samples=samples)
    return result


async def run_floor_insert(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor of ingestion: the same message rows written by bare asyncpg, one INSERT per
    row (autocommit), at the same concurrency."""
    import asyncpg

    pool = await asyncpg.create_pool(
        spec["db_url"], min_size=spec["concurrency"], max_size=spec["concurrency"]
    )
    instance_id = uuid.UUID(spec["instance_id"])
    contacts = [(uuid.UUID(c), jid) for c, jid in spec["contacts"]]
    sql = """
        INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, from_me,
          message_type, text_content, status, timestamp)
        VALUES ($1, $2, $3, $4, false, 'text', $5, 'delivered', $6)
        ON CONFLICT (instance_id, message_id) DO NOTHING RETURNING id
    """
    latencies: list[float] = []
    inserted = [0]
    rng = random.Random(7)
    end = time.perf_counter() + spec["duration"]
    counter = [0]

    async def client() -> None:
        async with pool.acquire() as conn:
            statement = await conn.prepare(sql)
            while time.perf_counter() < end:
                counter[0] += 1
                contact_id, jid = rng.choice(contacts)
                t0 = time.perf_counter()
                row = await statement.fetchrow(
                    instance_id,
                    contact_id,
                    f"FLOOR{counter[0]:09d}",
                    jid,
                    f"Mensagem de carga {counter[0]}",
                    datetime.now(UTC),
                )
                latencies.append(time.perf_counter() - t0)
                if row is not None:
                    inserted[0] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    seconds = time.perf_counter() - start
    await pool.close()
    result = summary(latencies, inserted[0], 0, seconds)
    return result


# -- live: a poster at a fixed rate, and subscribers ---------------------------------------------


async def run_poster(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop: event i leaves at start + i/rate, whatever the answers do; the send moment
    (monotonic ns) travels in the message text."""
    targets = spec["targets"]
    instance, rate, duration = spec["instance"], spec["rate"], spec["duration"]
    upserts = Upserts(spec.get("prefix", "BL"))
    # Per target a pool of keep-alive connections; events alternate between targets.
    pools: list[asyncio.Queue[HttpConn]] = []
    conns: list[HttpConn] = []
    for target in targets:
        pool: asyncio.Queue[HttpConn] = asyncio.Queue()
        for _ in range(spec.get("conns", 8)):
            conn = HttpConn(target["host"], target["port"])
            conns.append(conn)
            pool.put_nowait(conn)
        pools.append(pool)
    latencies: list[float] = []
    counts = {"posted": 0, "accepted": 0, "errors": 0, "not_sent": 0}
    total = int(rate * duration)
    tag = spec.get("tag", "0")
    start = time.perf_counter()
    # A server that answers too slowly cannot take the rate: what could not leave within
    # 5 s of the end of the schedule is not sent (and so not expected by the subscribers).
    cutoff = start + duration + 5.0
    tasks = []

    async def post(i: int) -> None:
        free = pools[i % len(pools)]
        conn = await free.get()
        if time.perf_counter() > cutoff:
            counts["not_sent"] += 1
            free.put_nowait(conn)
            return
        try:
            _, body = upserts.make(
                instance,
                instance["jids"][i % len(instance["jids"])],
                text=f"live {tag} {i} {time.monotonic_ns()}",
            )
            t0 = time.perf_counter()
            status, answer = await conn.request(
                webhook_request(conn.host, conn.port, instance, body)
            )
            latencies.append(time.perf_counter() - t0)
            counts["posted"] += 1
            if status == 200 and b'"accepted"' in answer:
                counts["accepted"] += 1
            else:
                counts["errors"] += 1
        except (OSError, asyncio.IncompleteReadError):
            conn.close()
            counts["errors"] += 1
        finally:
            free.put_nowait(conn)

    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(i)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - start
    for conn in conns:
        conn.close()
    result = summary(latencies, counts["posted"], counts["errors"], seconds)
    result.update(counts)
    return result


async def _subscribe(url: str, token: str, query: str, variables: dict[str, Any]) -> Any:
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    ws = await connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        max_size=None,
        ping_interval=None,
        open_timeout=60,
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    await ws.send(
        json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )
    return ws


async def _open_all(spec: dict[str, Any]) -> list[Any]:
    urls, n = spec["urls"], spec["n"]
    opened: list[Any] = [None] * n
    gate = asyncio.Semaphore(spec.get("parallel", 50))

    async def one(i: int) -> None:
        async with gate:
            opened[i] = await _subscribe(
                urls[i % len(urls)],
                spec["token"],
                spec["query"],
                {"instanceId": spec["instance_id"]},
            )

    await asyncio.gather(*(one(i) for i in range(n)))
    return opened


async def _warm(spec: dict[str, Any], got_warm: list[bool], timeout: float = 120.0) -> None:
    """Post 'warm' events until every subscription has received one: then all are live."""
    instance = spec["instance"]
    upserts = Upserts("BW")
    targets = spec["targets"]
    deadline = time.monotonic() + timeout
    i = 0
    while not all(got_warm):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {sum(got_warm)}/{len(got_warm)} subscriptions live")
        target = targets[i % len(targets)]
        conn = HttpConn(target["host"], target["port"])
        _, body = upserts.make(instance, instance["jids"][0], text=f"warm {spec.get('tag', '0')}")
        await conn.request(webhook_request(conn.host, conn.port, instance, body))
        conn.close()
        i += 1
        await asyncio.sleep(1.0)


async def run_subscribers(spec: dict[str, Any], idle: bool) -> dict[str, Any]:
    tag = spec.get("tag", "0")
    sockets = await _open_all(spec)
    n = len(sockets)
    got_warm = [False] * n
    latencies: list[float] = []
    counts = [0] * n
    seen: list[set[int]] = [set() for _ in range(n)]
    errors: list[str] = []

    async def reader(i: int) -> None:
        ws = sockets[i]
        try:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send('{"type":"pong"}')
                    continue
                if kind != "next":
                    if kind in ("error", "complete") and len(errors) < 5:
                        errors.append(str(message)[:300])
                    continue
                event = (message["payload"].get("data") or {}).get("messageEvents") or {}
                text = (event.get("message") or {}).get("textContent") or ""
                if text.startswith(f"live {tag} "):
                    now = time.monotonic_ns()
                    _, _, number, sent = text.split(" ")
                    latencies.append((now - int(sent)) / 1e9)
                    counts[i] += 1
                    seen[i].add(int(number))
                elif text == f"warm {tag}":
                    got_warm[i] = True
                elif message["payload"].get("errors") and len(errors) < 5:
                    errors.append(str(message["payload"]["errors"])[:300])
        except Exception as error:  # a closed socket ends its reader
            if len(errors) < 5 and not isinstance(error, asyncio.CancelledError):
                errors.append(f"{type(error).__name__}: {error}")

    readers = [asyncio.create_task(reader(i)) for i in range(n)]
    if spec.get("warm", True):
        await _warm(spec, got_warm)
    print("READY " + json.dumps({"subscribers": n, "live": sum(got_warm)}), flush=True)
    loop = asyncio.get_running_loop()
    # "stop" or "stop EXPECTED GRACE": wait up to GRACE seconds for every subscriber to have
    # EXPECTED events; what is still missing then counts as never delivered.
    words = (await loop.run_in_executor(None, sys.stdin.readline)).split()
    expected = int(words[1]) if len(words) > 1 else 0
    grace = float(words[2]) if len(words) > 2 else 0.0
    deadline = time.monotonic() + grace
    while expected and time.monotonic() < deadline and min(len(s) for s in seen) < expected:
        await asyncio.sleep(0.1)
    waited = grace - max(0.0, deadline - time.monotonic())
    # Stop counting first: closing hundreds of sockets on a busy server takes a while, and
    # whatever arrives meanwhile is past the grace period.
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    async def close(ws: Any) -> None:
        try:
            await asyncio.wait_for(ws.close(), 2.0)
        except Exception:
            ws.transport.abort()

    await asyncio.gather(*(close(ws) for ws in sockets))
    unique = [len(s) for s in seen]
    missing = max(0, expected * n - sum(unique))
    with_missing = latencies + [float("inf")] * missing
    return {
        "expected": expected * n,
        "missing": missing,
        "waited": waited,
        "p50_all_ms": percentile(with_missing, 50) * 1000,
        "p99_all_ms": percentile(with_missing, 99) * 1000,
        "subscribers": n,
        "received": sum(counts),
        "unique": sum(unique),
        "duplicates": sum(counts) - sum(unique),
        "min_per_subscriber": min(unique) if unique else 0,
        "max_per_subscriber": max(unique) if unique else 0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000 if latencies else float("nan"),
        "errors": errors,
    }


def main() -> None:
    mode = sys.argv[1]
    spec = json.loads(sys.stdin.readline() if mode in ("subscribers", "idle") else sys.stdin.read())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if mode in ("subscribers", "idle"):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runners = {
        "http": lambda: run_http(spec),
        "webhooks": lambda: run_webhooks(spec),
        "floor_insert": lambda: run_floor_insert(spec),
        "poster": lambda: run_poster(spec),
        "subscribers": lambda: run_subscribers(spec, idle=False),
        "idle": lambda: run_subscribers(spec, idle=True),
    }
    result = asyncio.run(runners[mode]())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
