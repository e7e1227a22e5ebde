"""The webhook processor on its own: instances side by side, order within each, and a failing
event that holds back only what comes after it in its own instance."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from db import ingest as ingest_db, webhook_events as webhook_events_db
from services.media import fetcher as media_fetcher
from services.platform.crypto import Vault
from services.platform.settings import SettingsError, parse_settings
from services.platform.waiting import in_own_task
from services.webhooks.processor import MAX_ATTEMPTS, WebhookProcessor
from tests.helpers import ServerHandle, create_instance_row, load_payload, post_webhook, wait_for


async def post_messages(
    server: ServerHandle, vault: Vault, instance: str, token: str, ids: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for message_id in ids:
            payload = load_payload("messages_upsert_text", instance, token)
            payload["data"]["key"]["id"] = message_id
            response = await post_webhook(http, payload, vault.webhook_secret(instance))
            assert response.json()["status"] == "accepted", response.text


async def stream_order(pg: asyncpg.Connection, instance_id: uuid.UUID) -> list[str]:
    """Message ids in the order the instance's stream announced them."""
    rows = await pg.fetch(
        "SELECT m.message_id FROM whatsapp_events e JOIN whatsapp_messages m ON m.id = e.entity_id "
        "WHERE e.instance_id = $1 AND e.topic = 'message' AND e.op = 'created' ORDER BY e.seq",
        instance_id,
    )
    return [r["message_id"] for r in rows]


async def event_states(pg: asyncpg.Connection) -> dict[str, tuple[str, int, str | None]]:
    rows = await pg.fetch(
        "SELECT payload->'data'->'key'->>'id' AS message_id, status, attempts, "
        "last_error FROM webhook_events"
    )
    return {r["message_id"]: (r["status"], r["attempts"], r["last_error"]) for r in rows}


async def test_instances_are_processed_side_by_side_each_in_order(server, pg, vault, database_url):
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
            return (
                int(
                    await pg.fetchval(
                        "SELECT count(*) FROM webhook_events "
                        "WHERE instance_id = $1 AND status = 'done'",
                        b["id"],
                    )
                )
                == 3
            )

        await wait_for(b_done)
        assert (
            await pg.fetchval(
                "SELECT count(*) FROM webhook_events WHERE instance_id = $1 AND status = 'done'",
                a["id"],
            )
            == 0
        )
    finally:
        await held.rollback()
        await blocker.close()
    assert await asyncio.wait_for(draining, 30) == 6
    assert await stream_order(pg, a["id"]) == ["A1", "A2", "A3"]
    assert await stream_order(pg, b["id"]) == ["B1", "B2", "B3"]


async def test_an_event_failing_for_an_outage_holds_back_only_what_follows_it(
    server, pg, vault, monkeypatch
):
    a = await create_instance_row(pg, vault, "acme-support", token="T-A")
    b = await create_instance_row(pg, vault, "beta-vendas", token="T-B")
    await post_messages(server, vault, "acme-support", "T-A", ["A1", "POISON", "A2"])
    await post_messages(server, vault, "beta-vendas", "T-B", ["B1", "B2"])

    real_keep_inline = media_fetcher.keep_inline

    async def keep_inline(runtime, message, data):
        if message["message_id"] == "POISON":  # once stored: none of its writes may stay
            raise ConnectionResetError("boom")  # the network went away: worth waiting for
        return await real_keep_inline(runtime, message, data)

    monkeypatch.setattr(media_fetcher, "keep_inline", keep_inline)
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
    assert states["POISON"] == ("pending", 1, "ConnectionResetError: boom")
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
    await pg.execute(
        "UPDATE webhook_events SET attempts = $1, next_attempt_at = NOW() "
        "WHERE payload->'data'->'key'->>'id' = 'POISON'",
        MAX_ATTEMPTS - 1,
    )
    assert await in_own_task(processor.drain()) == 2
    states = await event_states(pg)
    assert states["POISON"][:2] == ("failed", MAX_ATTEMPTS)
    assert states["A2"] == ("done", 0, None)
    assert await stream_order(pg, a["id"]) == ["A1", "A2"]
    assert await stream_order(pg, b["id"]) == ["B1", "B2"]


async def test_an_event_failing_for_its_data_is_set_aside_at_once(server, pg, vault, monkeypatch):
    a = await create_instance_row(pg, vault, "acme-support", token="T-A")
    await post_messages(server, vault, "acme-support", "T-A", ["A1", "POISON", "A2", "A3"])
    real_keep_inline = media_fetcher.keep_inline

    async def keep_inline(runtime, message, data):
        if message["message_id"] == "POISON":  # a value PostgreSQL refuses, for real
            await runtime.db.fetch_val("SELECT CAST('not a number' AS integer)")
        return await real_keep_inline(runtime, message, data)

    monkeypatch.setattr(media_fetcher, "keep_inline", keep_inline)
    processor = WebhookProcessor(server.runtime)
    assert await in_own_task(processor.drain()) == 4
    states = await event_states(pg)
    status, attempts, error = states["POISON"]
    assert (status, attempts) == ("failed", 1)  # no retries: it would fail the same way
    assert error is not None and error.startswith("InvalidTextRepresentationError")
    # What came after it did not wait.
    assert states["A2"] == states["A3"] == ("done", 0, None)
    assert await stream_order(pg, a["id"]) == ["A1", "A2", "A3"]

    # It stays replayable: once what broke it is fixed, a replay applies it.
    monkeypatch.setattr(media_fetcher, "keep_inline", real_keep_inline)
    assert await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'failed'") == 1
    assert await in_own_task(webhook_events_db.requeue(server.runtime.db, None)) == 1
    assert await in_own_task(processor.drain()) == 1
    assert (await event_states(pg))["POISON"] == ("done", 0, None)
    assert await stream_order(pg, a["id"]) == ["A1", "A2", "A3", "POISON"]


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


def mixed_batch(instance: str, token: str) -> list[dict[str, Any]]:
    """Every case a run of messages meets: new contacts, a renamed one, a LID-only chat, a
    reaction, our own message, media, a receipt before its message, a redelivered message and
    the same message twice."""
    x, y, z = (
        "5511999990002@s.whatsapp.net",
        "5511988887777@s.whatsapp.net",
        "5511977776666@s.whatsapp.net",
    )

    def text(message_id: str, jid: str, name: str, **changes: Any) -> dict[str, Any]:
        payload = load_payload("messages_upsert_text", instance, token)
        payload["data"]["key"].update(id=message_id, remoteJid=jid)
        if jid != x:
            payload["data"]["key"].pop("remoteJidAlt")
        payload["data"]["pushName"] = name
        payload["data"]["message"]["conversation"] = f"text of {message_id}"
        payload.update(changes.pop("envelope", {}))
        payload["data"].update(changes)
        return payload

    def kind(name: str, message_id: str) -> dict[str, Any]:
        payload = load_payload(name, instance, token)
        payload["data"]["key"]["id"] = message_id
        return payload

    receipt = load_payload("messages_update_read", instance, token)
    receipt["data"]["keyId"] = "M3"
    lid_only = text("M10", "184467440737095@lid", "Maria S.")
    return [
        receipt,
        text("M1", x, "Maria Souza"),
        text("M2", x, "Maria Souza"),
        text("M3", y, "Yara"),
        kind("messages_upsert_reaction", "M4"),
        text("M2", x, "Maria Souza", status="READ", envelope={"date_time": "again"}),
        kind("messages_upsert_from_me", "M5"),
        text("M6", x, "Maria S."),
        text("M7", x, "Maria S."),
        text("M7", x, "Maria S.", envelope={"date_time": "again"}),
        kind("messages_upsert_image_caption", "M8"),
        text("M9", y, "Yara"),
        lid_only,
        text("M11", x, "Maria S."),
        text("M12", z, "Zé"),
        text("M13", z, "Zé"),
    ] + [
        text(f"M{n}", jid, name)  # and then the usual: known people writing on
        for n, (jid, name) in enumerate([(x, "Maria S."), (y, "Yara"), (z, "Zé")] * 2, 14)
    ]


async def state(pg: asyncpg.Connection, instance_id: uuid.UUID) -> dict[str, Any]:
    """What processing left, with the names the two instances share instead of row ids."""
    contacts = {
        r["id"]: r
        for r in await pg.fetch(
            "SELECT * FROM whatsapp_contacts WHERE instance_id = $1", instance_id
        )
    }
    messages = {
        r["id"]: r
        for r in await pg.fetch(
            "SELECT * FROM whatsapp_messages WHERE instance_id = $1", instance_id
        )
    }
    stream = await pg.fetch(
        "SELECT * FROM whatsapp_events WHERE instance_id = $1 ORDER BY seq", instance_id
    )
    return {
        "contacts": sorted(
            (
                c["remote_jid"],
                c["lid_jid"],
                c["name"],
                c["push_name"],
                c["phone_number"],
                c["last_message_at"],
            )
            for c in contacts.values()
        ),
        "messages": sorted(
            (
                m["message_id"],
                contacts[m["contact_id"]]["remote_jid"],
                m["from_me"],
                m["message_type"],
                m["text_content"],
                m["status"],
                m["deleted_at"] is not None,
                m["media_state"],
                m["timestamp"],
                m["metadata"],
            )
            for m in messages.values()
        ),
        "stream": [
            (
                e["topic"],
                e["op"],
                messages[e["entity_id"]]["message_id"]
                if e["topic"] == "message"
                else contacts[e["entity_id"]]["remote_jid"],
            )
            for e in stream
        ],
        "seqs": [e["seq"] for e in stream],
        "receipts": await pg.fetchval(
            "SELECT count(*) FROM whatsapp_message_receipts WHERE instance_id = $1", instance_id
        ),
        "events": await pg.fetch(
            "SELECT status, attempts FROM webhook_events WHERE instance_id = $1 ORDER BY id",
            instance_id,
        ),
    }


async def test_a_batch_applied_whole_ends_as_one_applied_event_by_event(
    server, pg, vault, monkeypatch
):
    whole = await create_instance_row(pg, vault, "acme-support", token="T-A")
    alone = await create_instance_row(pg, vault, "beta-vendas", token="T-B")
    async with httpx.AsyncClient(base_url=server.url) as http:
        for name, token in (("acme-support", "T-A"), ("beta-vendas", "T-B")):
            for payload in mixed_batch(name, token):
                response = await post_webhook(http, payload, vault.webhook_secret(name))
                assert response.json()["status"] == "accepted", response.text
    together = []
    real_insert = ingest_db.insert_incoming_many

    async def insert_incoming_many(db, instance_id, messages, touch):
        together.append([m["message_id"] for m in messages])
        return await real_insert(db, instance_id, messages, touch)

    monkeypatch.setattr(ingest_db, "insert_incoming_many", insert_incoming_many)
    processor = WebhookProcessor(server.runtime)
    # The two ways `process_instance` applies a batch, one per instance.
    assert await in_own_task(processor.apply_batch(whole["id"], one_by_one=False)) == 22
    assert await in_own_task(processor.apply_batch(alone["id"], one_by_one=True)) == 22
    assert together[-1] == [f"M{n}" for n in range(13, 20)]
    applied_whole, applied_alone = await state(pg, whole["id"]), await state(pg, alone["id"])
    assert applied_whole == applied_alone
    assert applied_whole["seqs"] == list(range(1, len(applied_whole["seqs"]) + 1))
    assert {m[0] for m in applied_whole["messages"]} == {f"M{n}" for n in range(1, 20)}
    assert applied_whole["receipts"] == 0
