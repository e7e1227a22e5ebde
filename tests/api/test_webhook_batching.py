"""Webhooks that arrive together are stored together (one INSERT, one commit), and each still
gets its own answer: accepted once, duplicate for a redelivery, refused alone when its row is."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from typing import Any

import asyncpg
import httpx

from services.webhooks.receiver import EventWriter
from tests.helpers import create_instance_row, load_payload, post_webhook, wait_for


async def test_concurrent_webhooks_are_stored_once_each(server, pg, vault):
    await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    bodies = []
    for n in range(40):
        payload = load_payload("messages_upsert_text")
        payload["data"]["key"]["id"] = f"TOGETHER{n:03d}"
        bodies.append(json.dumps(payload).encode())
    async with httpx.AsyncClient(base_url=server.url) as http:
        answers = await asyncio.gather(
            *(post_webhook(http, body, secret) for body in bodies + [bodies[0]] * 5)
        )
    assert {a.status_code for a in answers} == {200}
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("accepted") == 40 and statuses.count("duplicate") == 5
    assert len({a.json()["id"] for a in answers if a.json()["status"] == "accepted"}) == 40
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 40

    async def processed() -> bool:
        return (
            int(await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'done'"))
            == 40
        )

    await wait_for(processed)
    assert (
        await pg.fetchval(
            "SELECT count(DISTINCT message_id) FROM whatsapp_messages "
            "WHERE message_id LIKE 'TOGETHER%'"
        )
        == 40
    )
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 40


def event(
    instance_id: uuid.UUID, payload: dict[str, Any], body: bytes | None = None
) -> tuple[Any, ...]:
    body = body if body is not None else json.dumps(payload).encode()
    return instance_id, "messages.upsert", payload, body, hashlib.sha256(body).hexdigest()


async def test_events_that_arrive_together_share_one_insert(server, pg, vault):
    instance = await create_instance_row(pg, vault)
    writer = EventWriter(server.runtime.db)
    payloads = [{"n": n, "text": "olá"} for n in range(5)]
    # json.loads reads UTF-16 too; jsonb does not, so that one is written again as UTF-8.
    bodies = [None, None, json.dumps(payloads[2]).encode("utf-16"), None, None]
    ids = await asyncio.gather(
        *(writer.store(*event(instance["id"], p, b)) for p, b in zip(payloads, bodies, strict=True))
    )
    rows = await pg.fetch("SELECT id, payload, received_at FROM webhook_events ORDER BY id")
    assert [r["id"] for r in rows] == ids  # in the order they came
    assert [json.loads(r["payload"]) for r in rows] == payloads
    assert len({r["received_at"] for r in rows}) == 1  # one statement: one transaction


async def test_a_refused_row_does_not_fail_those_written_with_it(server, pg, vault):
    instance = await create_instance_row(pg, vault)
    writer = EventWriter(server.runtime.db)
    wide = {"text": "olá, ação"}
    first, again, unknown, utf16, last = await asyncio.gather(
        writer.store(*event(instance["id"], {"n": 1})),
        writer.store(*event(instance["id"], {"n": 1})),  # the same body twice in one write
        writer.store(*event(uuid.uuid4(), {"n": 2})),  # an instance deleted meanwhile
        writer.store(
            *event(instance["id"], wide, json.dumps(wide, ensure_ascii=False).encode("utf-16"))
        ),
        writer.store(*event(instance["id"], {"n": 3})),
        return_exceptions=True,
    )
    assert isinstance(unknown, asyncpg.ForeignKeyViolationError)
    assert again is None
    assert all(isinstance(i, int) for i in (first, utf16, last)), (first, utf16, last)
    rows = await pg.fetch("SELECT id, payload FROM webhook_events ORDER BY id")
    assert [(r["id"], json.loads(r["payload"])) for r in rows] == [
        (first, {"n": 1}),
        (utf16, wide),
        (last, {"n": 3}),
    ]
    # A redelivery later is still answered as one.
    assert await writer.store(*event(instance["id"], {"n": 3})) is None
