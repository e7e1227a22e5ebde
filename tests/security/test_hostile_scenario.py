"""Issue 15's scenario: the hostile inputs thrown at a running server together, while
`/healthz` is polled. Every request gets its answer, `/healthz` keeps answering, nothing is
stored, and the logs hold no secret, token, message text or traceback."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import httpx
import jwt

from services.identity.auth import mint_token
from services.platform.logs import TextFormatter
from tests.helpers import JWT_SECRET, create_instance_row, load_payload, post_webhook
from tests.security.raw_http import head, raw_request

# /healthz must answer within this (a client timeout, not a timing the test asserts on).
HEALTH_TIMEOUT = 5.0
ROUNDS = 3
WORDS = "TEXTO-SIGILOSO-DO-CLIENTE"
TABLES = (
    "whatsapp_messages",
    "whatsapp_contacts",
    "clients",
    "whatsapp_quick_messages",
    "webhook_events",
    "profiles",
    "whatsapp_instances",
)


async def snapshot(pg: asyncpg.Connection) -> dict[str, int]:
    return {t: await pg.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def test_hostile_inputs_are_refused_cheaply_and_leave_no_trace(
    server, pg, vault, caplog, admin_token
):
    caplog.set_level(logging.INFO)
    instance = await create_instance_row(pg, vault, name="mine", token="T-MINE")
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
        "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
        instance["id"],
    )
    expired = jwt.encode(
        {"sub": str(uuid.uuid4()), "exp": int(time.time()) - 5, "app_metadata": {"role": "admin"}},
        JWT_SECRET,
        algorithm="HS256",
    )
    forged = mint_token("another-secret-" + "y" * 40, sub=uuid.uuid4(), role="admin")
    http = httpx.AsyncClient(base_url=server.url, timeout=30)
    auth = {"authorization": f"Bearer {admin_token}"}
    await http.post("/graphql", json={"query": "{ viewer { id } }"}, headers=auth)  # profile
    before = await snapshot(pg)

    def gql(
        query: str, variables: dict[str, Any] | None = None, headers: dict[str, Any] | None = None
    ) -> Coroutine[Any, Any, httpx.Response]:
        return http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=auth if headers is None else headers,
        )

    def raw_json(
        body: bytes, headers: dict[str, Any] | None = None
    ) -> Coroutine[Any, Any, httpx.Response]:
        return http.post(
            "/graphql",
            content=body,
            headers={"content-type": "application/json", **(headers or auth)},
        )

    c, i = str(contact), str(instance["id"])
    aliases = (
        "query($c: ID!) { "
        + " ".join(
            f"m{n}: messages(contactId: $c, first: 200) {{ edges {{ cursor }} }}" for n in range(30)
        )
        + " }"
    )
    webhook = load_payload("messages_upsert_text", instance_name="mine", token="T-MINE")
    webhook["data"]["message"]["conversation"] = WORDS

    def attacks() -> list[Any]:
        return [
            raw_request(server.url, head(100 * 1024 * 1024), b'{"query": "'),
            raw_request(
                server.url, head(100 * 1024 * 1024, "multipart/form-data; boundary=x"), b"--x\r\n"
            ),
            raw_request(server.url, head(None, token=admin_token), chunks=[b"x" * 300_000] * 4),
            *(raw_json(body) for body in (b"null", b"123", b"true", b'"abc"', b"[" * 100_000)),
            gql("query($s: String) { quickMessages(search: $s) { shortcut } }", {"s": "a\x00"}),
            gql("query($s: String) { quickMessages(search: $s) { shortcut } }", {"s": "%"}),
            gql(
                "query($c: ID!, $a: String) { messages(contactId: $c, after: $a) "
                "{ edges { cursor } } }",
                {"c": c, "a": "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHx4"},
            ),
            gql('mutation { replayWebhookEvents(id: "²") }'),
            gql(aliases, {"c": c}),
            gql("{ viewr { id } }"),
            gql("query { ...__schema } fragment __schema on Query { viewer { id } }", headers={}),
            gql("query A { viewer { id } } query B { instances { id } }"),
            gql("subscription { instanceEvents { kind } }"),
            gql(
                "mutation($c: ID!, $n: String) { createClientFromContact(contactId: $c, "
                'input: {name: "X", notes: $n}) { id } }',
                {"c": c, "n": "n" * 6000},
            ),
            gql(
                "mutation($i: ID!, $c: ID!) { sendMessage(input: {instanceId: $i, contactId: $c, "
                "textContent: $t}) { id } }".replace("$c: ID!)", "$c: ID!, $t: String)"),
                {"i": i, "c": c, "t": WORDS + "\x00"},
            ),
            gql("{ viewer { id } }", headers={"authorization": f"Bearer {expired}"}),
            gql("{ viewer { id } }", headers={"authorization": f"Bearer {forged}"}),
            http.get("/graphql%0A2026-01-01 ERROR forged line"),
            http.get(f"/media/{uuid.uuid4()}", params={"exp": "²", "sig": "x"}),
            post_webhook(http, webhook, None),
            post_webhook(http, webhook, "wrong-secret"),
        ]

    worst = 0.0
    stop = asyncio.Event()

    async def poll_health() -> int:
        nonlocal worst
        polls = 0
        async with httpx.AsyncClient(base_url=server.url, timeout=HEALTH_TIMEOUT) as probe:
            while not stop.is_set():
                started = time.perf_counter()
                response = await probe.get("/healthz")  # raises when it does not answer in time
                worst = max(worst, time.perf_counter() - started)
                assert response.status_code == 200
                polls += 1
                await asyncio.sleep(0)  # yield, then poll again at once
        return polls

    poller = asyncio.create_task(poll_health())
    try:
        answers = []
        for _ in range(ROUNDS):
            answers += await asyncio.gather(*attacks())
    finally:
        stop.set()
        polls = await poller
    await http.aclose()

    statuses = [a[0] if isinstance(a, tuple) else a.status_code for a in answers]
    assert all(s < 500 for s in statuses), statuses
    print(
        f"\n/healthz: {polls} polls, worst answer {worst * 1000:.1f} ms "
        f"during {len(answers)} hostile requests"
    )
    assert polls > 0
    assert await snapshot(pg) == before

    formatter = TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logs = "\n".join(formatter.format(r) for r in caplog.records)
    for secret in (
        JWT_SECRET,
        admin_token,
        expired,
        forged,
        "T-MINE",
        vault.webhook_secret("mine"),
        server.runtime.settings.webhook_secret,
    ):
        assert secret not in logs
    assert WORDS not in logs
    assert "Traceback" not in logs and not [r for r in caplog.records if r.exc_info]
    assert not [
        line
        for line in logs.splitlines()
        if "forged line" in line and not line.split(" ", 3)[2].startswith("INFO")
    ], "a forged log line"
