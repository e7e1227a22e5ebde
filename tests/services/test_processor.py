"""The webhook processor on its own: instances side by side, order within each, and a failing
event that holds back only what comes after it in its own instance."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from services import processor as processor_module
from services.processor import MAX_ATTEMPTS, WebhookProcessor
from services.settings import SettingsError, parse_settings
from services.waiting import in_own_task
from tests.helpers import create_instance_row, load_payload, post_webhook, wait_for


@pytest.fixture
def settings(settings):
    # The tests run the processor themselves, one drain at a time.
    return settings.with_overrides(workers_enabled=False)


async def post_messages(server, vault, instance: str, token: str, ids: list[str]) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for message_id in ids:
            payload = load_payload("messages_upsert_text", instance, token)
            payload["data"]["key"]["id"] = message_id
            response = await post_webhook(http, payload, vault.webhook_secret(instance))
            assert response.json()["status"] == "accepted", response.text


async def stream_order(pg, instance_id) -> list[str]:
    """Message ids in the order the instance's stream announced them."""
    rows = await pg.fetch(
        "SELECT m.message_id FROM whatsapp_events e JOIN whatsapp_messages m ON m.id = e.entity_id "
        "WHERE e.instance_id = $1 AND e.topic = 'message' AND e.op = 'created' ORDER BY e.seq",
        instance_id)
    return [r["message_id"] for r in rows]


async def event_states(pg) -> dict[str, tuple[str, int, str | None]]:
    rows = await pg.fetch("SELECT payload->'data'->'key'->>'id' AS message_id, status, attempts, "
                          "last_error FROM webhook_events")
    return {r["message_id"]: (r["status"], r["attempts"], r["last_error"]) for r in rows}


async def test_instances_are_processed_side_by_side_each_in_order(server, pg, vault,
                                                                  database_url):
    a = await create_instance_row(pg, vault, "acme-support", token="T-A")
    b = await create_instance_row(pg, vault, "beta-vendas", token="T-B")
    await post_messages(server, vault, "acme-support", "T-A", ["A1", "A2", "A3"])
    await post_messages(server, vault, "beta-vendas", "T-B", ["B1", "B2", "B3"])

    # Another session holds instance A's row, so A's batch waits (A is listed first): B must
    # not wait behind it.
    blocker = await asyncpg.connect(database_url)
    held = blocker.transaction()
    await held.start()
    await blocker.execute("SELECT 1 FROM whatsapp_instances WHERE id = $1 FOR UPDATE", a["id"])
    draining = asyncio.create_task(in_own_task(WebhookProcessor(server.runtime).drain()))
    try:
        async def b_done() -> bool:
            return await pg.fetchval("SELECT count(*) FROM webhook_events WHERE instance_id = $1 "
                                     "AND status = 'done'", b["id"]) == 3
        await wait_for(b_done)
        assert await pg.fetchval("SELECT count(*) FROM webhook_events WHERE instance_id = $1 "
                                 "AND status = 'done'", a["id"]) == 0
    finally:
        await held.rollback()
        await blocker.close()
    assert await asyncio.wait_for(draining, 30) == 6
    assert await stream_order(pg, a["id"]) == ["A1", "A2", "A3"]
    assert await stream_order(pg, b["id"]) == ["B1", "B2", "B3"]


async def test_a_failing_event_holds_back_only_what_follows_it(server, pg, vault, monkeypatch):
    a = await create_instance_row(pg, vault, "acme-support", token="T-A")
    b = await create_instance_row(pg, vault, "beta-vendas", token="T-B")
    await post_messages(server, vault, "acme-support", "T-A", ["A1", "POISON", "A2"])
    await post_messages(server, vault, "beta-vendas", "T-B", ["B1", "B2"])

    real_apply = processor_module.apply_event

    async def apply_event(runtime, batch, event, data):
        published = await real_apply(runtime, batch, event, data)
        if data["key"]["id"] == "POISON":  # after its writes: none of them may stay
            raise RuntimeError("boom")
        return published

    monkeypatch.setattr(processor_module, "apply_event", apply_event)
    bus = server.runtime.bus
    published = []
    real_publish = bus.publish

    async def publish(publications):
        publications = list(publications)
        published.extend(publications)
        await real_publish(publications)

    monkeypatch.setattr(bus, "publish", publish)
    processor = WebhookProcessor(server.runtime)

    assert await in_own_task(processor.drain()) == 4  # A1, POISON's attempt, B1, B2
    states = await event_states(pg)
    assert states["A1"] == ("done", 0, None)
    assert states["POISON"] == ("pending", 1, "RuntimeError: boom")
    assert states["A2"] == ("pending", 0, None)  # waits behind it: the instance keeps its order
    assert states["B1"][0] == states["B2"][0] == "done"
    stored = {r["message_id"] for r in await pg.fetch("SELECT message_id FROM whatsapp_messages")}
    assert stored == {"A1", "B1", "B2"}
    # Every stream event that exists was published once, and nothing else was: what a
    # discarded attempt wrote was neither kept nor announced.
    announced = [(p.channel, p.payload["seq"]) for p in published]
    assert len(announced) == len(set(announced))
    streamed = await pg.fetch("SELECT instance_id, seq FROM whatsapp_events")
    assert set(announced) == {(f"instance:{r['instance_id']}", r["seq"]) for r in streamed}

    # Its last attempt fails for good, and what waited behind it goes on.
    await pg.execute("UPDATE webhook_events SET attempts = $1, next_attempt_at = NOW() "
                     "WHERE payload->'data'->'key'->>'id' = 'POISON'", MAX_ATTEMPTS - 1)
    assert await in_own_task(processor.drain()) == 2
    states = await event_states(pg)
    assert states["POISON"][:2] == ("failed", MAX_ATTEMPTS)
    assert states["A2"] == ("done", 0, None)
    assert await stream_order(pg, a["id"]) == ["A1", "A2"]
    assert await stream_order(pg, b["id"]) == ["B1", "B2"]


async def test_concurrency_leaves_connections_to_the_receiver(server):
    processor = WebhookProcessor(server.runtime)
    runtime = server.runtime
    runtime.settings = runtime.settings.with_overrides(webhook_concurrency=8, db_pool_max=10)
    assert processor.concurrency == 8
    runtime.settings = runtime.settings.with_overrides(webhook_concurrency=8, db_pool_max=4)
    assert processor.concurrency == 2
    runtime.settings = runtime.settings.with_overrides(webhook_concurrency=8, db_pool_max=1)
    assert processor.concurrency == 1


def test_webhook_concurrency_setting():
    assert parse_settings({}).webhook_concurrency == 4
    assert parse_settings({"WEBHOOK_CONCURRENCY": "8"}).webhook_concurrency == 8
    with pytest.raises(SettingsError, match="WEBHOOK_CONCURRENCY"):
        parse_settings({"WEBHOOK_CONCURRENCY": "0"})
