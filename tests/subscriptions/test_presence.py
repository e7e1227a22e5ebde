"""presenceEvents: Evolution's `presence.update` (posted by the stand-in as the real server
does, only for chats the number subscribed to) reaches the number's members over websockets,
is never stored nor replayed, is dropped for people without a contact, and never logs a phone
number; every number's webhook asks for PRESENCE_UPDATE, existing ones updated at start."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import pytest

from services.instances.lifecycle import WEBHOOK_EVENTS
from services.webhooks import urls
from tests.helpers import GraphQLError, Subscription, create_instance_row, wait_for
from tests.standin.evolution import WebhookConfig

PRESENCE = """
subscription($instanceId: ID!, $contactId: ID) {
  presenceEvents(instanceId: $instanceId, contactId: $contactId) {
    contactId presence at lastSeen
  }
}"""
MARIA = "5511999990002"
JID = f"{MARIA}@s.whatsapp.net"
OWN = "/api/webhooks/evolution/i/"


async def number(
    pg: Any,
    vault: Any,
    evolution: Any,
    server: Any,
    name: str,
    members: Sequence[uuid.UUID] = (),
) -> dict[str, Any]:
    """A connected number here and on the stand-in, its webhook at its own URL, with Maria's
    contact."""
    row = await create_instance_row(pg, vault, name=name, token=f"T-{name}", members=members)
    evolution.add_instance(
        name,
        token=f"T-{name}",
        state="open",
        webhook=WebhookConfig(
            url=server.url + OWN + name,
            headers={"x-atendimento-secret": vault.webhook_secret(name)},
            events=list(WEBHOOK_EVENTS),
        ),
    )
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, $2, $3, 'Maria') RETURNING id",
        row["id"],
        JID,
        MARIA,
    )
    return {"id": str(row["id"]), "name": name, "contact": str(contact)}


async def next_presence(ws: Subscription) -> dict[str, Any]:
    return (await ws.next_data())["presenceEvents"]  # type: ignore[no-any-return]


async def subscribed(server: Any, count: int = 1) -> None:
    await wait_for(lambda: server.runtime.bus.subscriber_count >= count)


async def test_open_chat_subscribes_and_typing_reaches_the_member(
    server, pg, vault, evolution, agent_id, agent_token, caplog
):
    caplog.set_level(logging.DEBUG)
    acme = await number(pg, vault, evolution, server, "acme", members=[agent_id])
    # WhatsApp tells nothing about a chat nobody subscribed to.
    assert await evolution.emit_presence("acme", JID, "composing") is None
    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": acme["id"], "contactId": acme["contact"]})
        await subscribed(server)
        # The chat on screen: the server asked Evolution for its presence (a `paused`).
        [request] = await wait_for(lambda: evolution.requests_to("/chat/sendPresence/acme"))
        assert request.json == {"number": JID, "presence": "paused", "delay": 0}
        assert await evolution.emit_presence("acme", JID, "composing") == 200
        typing = await next_presence(ws)
        assert await evolution.emit_presence("acme", JID, "recording") == 200
        recording = await next_presence(ws)
        assert (
            await evolution.emit_presence("acme", JID, "unavailable", last_seen=1767000000) == 200
        )
        away = await next_presence(ws)
    assert typing["contactId"] == acme["contact"] and typing["presence"] == "COMPOSING"
    assert typing["at"].endswith("Z") and typing["lastSeen"] is None
    assert recording["presence"] == "RECORDING"
    assert away["presence"] == "UNAVAILABLE" and away["lastSeen"] == "2025-12-29T09:20:00.000Z"
    # Ephemeral: nothing in the event log, the instance's stream or the messages.
    for table in ("webhook_events", "whatsapp_events", "whatsapp_messages"):
        assert await pg.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    # And no phone number in any log line.
    assert MARIA not in caplog.text


async def test_typing_in_a_chat_subscribes_it_too(server, gql, pg, vault, evolution, admin_token):
    acme = await number(pg, vault, evolution, server, "acme")
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": acme["id"]})  # every chat of the number
        await subscribed(server)
        await gql(
            "mutation($c: ID!) { sendPresence(contactId: $c, presence: COMPOSING) }",
            {"c": acme["contact"]},
        )
        await wait_for(lambda: evolution.requests_to("/chat/sendPresence/acme"))
        assert await evolution.emit_presence("acme", JID, "available") == 200
        event = await next_presence(ws)
    assert event == {**event, "contactId": acme["contact"], "presence": "AVAILABLE"}


async def test_only_members_of_the_number_receive_it(
    server, pg, vault, evolution, agent_id, agent_token, admin_token
):
    theirs = await number(pg, vault, evolution, server, "suporte", members=[agent_id])
    other = await number(pg, vault, evolution, server, "vendas")
    for name in ("suporte", "vendas"):
        evolution.instances[name].presence_subscribed.add(JID)
    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": other["id"]})
        message = await ws.receive()
    assert message["type"] == "error" or message["payload"].get("errors"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert GraphQLError(errors).codes == ["NOT_FOUND"]

    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": theirs["id"]})
        await subscribed(server)
        # The other number's contact types first: the agent gets only its own number's.
        assert await evolution.emit_presence("vendas", JID, "composing") == 200
        assert await evolution.emit_presence("suporte", JID, "paused") == 200
        event = await next_presence(ws)
    assert (event["contactId"], event["presence"]) == (theirs["contact"], "PAUSED")


async def test_a_removed_member_stops_receiving(
    server, pg, vault, evolution, agent_id, agent_token, monkeypatch
):
    from services.identity import access

    monkeypatch.setattr(access, "ACCESS_RECHECK_SECONDS", 0.0)  # time: re-check at once
    acme = await number(pg, vault, evolution, server, "acme", members=[agent_id])
    evolution.instances["acme"].presence_subscribed.add(JID)
    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": acme["id"]})
        await subscribed(server)
        assert await evolution.emit_presence("acme", JID, "composing") == 200
        assert (await next_presence(ws))["presence"] == "COMPOSING"
        await pg.execute("DELETE FROM whatsapp_instance_members WHERE profile_id = $1", agent_id)
        assert await evolution.emit_presence("acme", JID, "paused") == 200
        message = await ws.receive()
    assert message["type"] == "complete", message


async def test_presence_of_unknown_people_and_groups_is_dropped(
    server, pg, vault, evolution, admin_token
):
    acme = await number(pg, vault, evolution, server, "acme")
    stranger = "5511988887777@s.whatsapp.net"
    group = "120363025246125244@g.us"
    standin = evolution.instances["acme"]
    standin.presence_subscribed.update({stranger, group, JID})
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": acme["id"]})
        await subscribed(server)
        assert await evolution.emit_presence("acme", stranger, "composing") == 200
        assert await evolution.emit_presence("acme", group, "composing") == 200
        assert evolution.webhook_answers[-2:] == [("presence.update", 200)] * 2
        assert await evolution.emit_presence("acme", JID, "composing") == 200
        event = await next_presence(ws)  # the first delivered is Maria's
    assert event["contactId"] == acme["contact"]
    # No contact was created for the stranger.
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_contacts") == 1


async def test_presence_is_not_replayed(server, pg, vault, evolution, admin_token):
    acme = await number(pg, vault, evolution, server, "acme")
    evolution.instances["acme"].presence_subscribed.add(JID)
    # Typing while nobody listens is gone: not in the number's stream, not delivered later.
    assert await evolution.emit_presence("acme", JID, "composing") == 200
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_events") == 0
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(PRESENCE, {"instanceId": acme["id"]})
        await subscribed(server)
        assert await evolution.emit_presence("acme", JID, "paused") == 200
        event = await next_presence(ws)
    assert event["presence"] == "PAUSED"


@pytest.mark.parametrize("bad", [None, [], {"id": JID}, {"id": JID, "presences": {JID: {}}}])
async def test_odd_presence_payloads_are_answered_and_ignored(server, pg, vault, evolution, bad):
    await number(pg, vault, evolution, server, "acme")
    assert await evolution.emit("acme", "presence.update", bad) == 200
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


async def test_new_numbers_subscribe_to_presence(gql, evolution):
    await gql('mutation { createInstance(input: {displayName: "Vendas"}) { id } }')
    [request] = evolution.requests_to("/instance/create")
    assert "PRESENCE_UPDATE" in request.json["webhook"]["events"]


async def test_existing_numbers_get_presence_at_start_even_after_an_outage(
    server, pg, vault, evolution, monkeypatch
):
    name = "acme"
    await create_instance_row(pg, vault, name=name, token="T-acme")
    url = server.url + OWN + name
    await pg.execute("UPDATE whatsapp_instances SET webhook_url = $1", url)
    old_events = [e for e in WEBHOOK_EVENTS if e != "PRESENCE_UPDATE"]
    evolution.add_instance(
        name,
        token="T-acme",
        state="open",
        webhook=WebhookConfig(
            url=url, headers={"x-atendimento-secret": vault.webhook_secret(name)}, events=old_events
        ),
    )
    monkeypatch.setattr(urls, "RETRY_FIRST_SECONDS", 0.05)  # time: retry at once
    evolution.set_down(True)
    stop = asyncio.Event()
    task = asyncio.create_task(urls.keep_webhooks_in_sync(server.runtime, stop))
    await wait_for(lambda: len(evolution.requests_to("/webhook/find/acme")) >= 2)
    assert not task.done()  # still trying, in the background
    evolution.set_down(False)
    await asyncio.wait_for(task, 10)
    hook = evolution.instances[name].webhook
    assert hook is not None and "PRESENCE_UPDATE" in hook.events and hook.url == url
    # Idempotent: the next start finds it done and sets nothing.
    sets = len(evolution.requests_to("/webhook/set/acme"))
    assert await urls.point_webhooks_at_own_urls(server.runtime) == 0
    assert len(evolution.requests_to("/webhook/set/acme")) == sets == 1
    stop.set()


async def test_an_unknown_number_or_contact_is_not_found(server, admin_token):
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(
            PRESENCE, {"instanceId": str(uuid.uuid4()), "contactId": str(uuid.uuid4())}
        )
        message = await ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert GraphQLError(errors).codes == ["NOT_FOUND"]
