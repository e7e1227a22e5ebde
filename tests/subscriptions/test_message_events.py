"""Live message and contact events over real websockets, and resuming with afterSeq."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import Subscription, load_payload, post_webhook
from tests.subscriptions.streams import CONTACT_EVENTS, MESSAGE_EVENTS, payload_with


async def test_a_webhook_reaches_a_live_subscriber(server, gql, instance, secret, admin_token):
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        # afterSeq "0" on a fresh instance: nothing is missed even if the webhook wins the race.
        await ws.subscribe(MESSAGE_EVENTS, {"instanceId": str(instance["id"]), "afterSeq": "0"})
        response = await post_webhook(gql.http, load_payload("messages_upsert_text"), secret)
        assert response.status_code == 200
        event = (await ws.next_data())["messageEvents"]
    assert event["kind"] == "CREATED"
    assert event["message"]["messageId"] == "A5561E44C2A63682E4295B52F484C14E"
    assert event["message"]["status"] == "DELIVERED"
    assert int(event["seq"]) >= 1


async def test_status_updates_arrive_as_updated_events(server, gql, instance, secret, admin_token):
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(MESSAGE_EVENTS, {"instanceId": str(instance["id"]), "afterSeq": "0"})
        for name in ("send_message", "messages_update_delivered", "messages_update_read"):
            assert (await post_webhook(gql.http, load_payload(name), secret)).status_code == 200
        events = [(await ws.next_data())["messageEvents"] for _ in range(3)]
    # Each event carries the message as it is when delivered (reloaded after commit), so a
    # subscriber that lags still ends on the true final status.
    assert [e["kind"] for e in events] == ["CREATED", "UPDATED", "UPDATED"]
    assert events[-1]["message"]["status"] == "READ"
    assert int(events[0]["seq"]) < int(events[1]["seq"]) < int(events[2]["seq"])


async def test_resume_with_after_seq_misses_nothing_and_repeats_nothing(
    server, gql, instance, secret, admin_token
):
    variables = {"instanceId": str(instance["id"]), "afterSeq": "0"}
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(MESSAGE_EVENTS, variables)
        await post_webhook(gql.http, payload_with("one", "M1"), secret)
        first = (await ws.next_data())["messageEvents"]
    # Disconnected: two messages arrive meanwhile.
    await post_webhook(gql.http, payload_with("two", "M2"), secret)
    await post_webhook(gql.http, payload_with("three", "M3"), secret)
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(MESSAGE_EVENTS, {**variables, "afterSeq": first["seq"]})
        await post_webhook(gql.http, payload_with("four", "M4"), secret)
        resumed = [(await ws.next_data())["messageEvents"] for _ in range(3)]
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.5)  # and nothing else: no duplicate
    assert first["message"]["textContent"] == "one"
    assert [e["message"]["textContent"] for e in resumed] == ["two", "three", "four"]
    seqs = [int(first["seq"])] + [int(e["seq"]) for e in resumed]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4


async def test_resume_beyond_retention_asks_for_a_reload(
    server, gql, pg, instance, secret, admin_token
):
    await post_webhook(gql.http, payload_with("old", "OLD1"), secret)
    await post_webhook(gql.http, payload_with("newer", "OLD2"), secret)

    async def stored() -> bool:
        return int(await pg.fetchval("SELECT count(*) FROM whatsapp_messages")) == 2

    from tests.helpers import wait_for

    await wait_for(stored)
    await pg.execute("DELETE FROM whatsapp_events WHERE seq <= 2")  # pruned by retention
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(MESSAGE_EVENTS, {"instanceId": str(instance["id"]), "afterSeq": "1"})
        event = (await ws.next_data())["messageEvents"]
    assert event["kind"] == "RELOAD_REQUIRED" and event["message"] is None


async def test_contact_filter_and_contact_events(server, gql, instance, secret, admin_token):
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(CONTACT_EVENTS, {"instanceId": str(instance["id"]), "afterSeq": "0"})
        await post_webhook(gql.http, load_payload("messages_upsert_text"), secret)
        created = (await ws.next_data())["contactEvents"]
        updated = (await ws.next_data())["contactEvents"]
    assert created["kind"] == "CREATED" and created["contact"]["name"] == "Maria Souza"
    assert updated["kind"] == "UPDATED"
    assert updated["contact"]["unreadCount"] == 1
    assert updated["contact"]["lastMessage"]["textContent"].startswith("Oi, bom dia")


async def test_an_agent_outside_the_instance_cannot_subscribe(server, instance, agent_token):
    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(MESSAGE_EVENTS, {"instanceId": str(instance["id"])})
        message = await ws.receive()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
