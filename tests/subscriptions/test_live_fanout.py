"""LIVE_FANOUT=direct against Strawberry's own delivery: on one server, a socket subscribed
while the direct fan-out is on and a socket subscribed while it is off receive the very same
frames (ids, payloads, order per operation, errors, completion) for every subscription of
docs/operations.graphql; and a socket that stops reading is closed, holding up nobody else."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager, nullcontext
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from resolvers import live_fanout
from services.identity import access
from tests.helpers import Subscription, load_payload, post_webhook, wait_for
from tests.subscriptions.test_presence import JID, number
from tests.test_operations_doc import DOC_PATH

NAME = "acme-support"
OPERATIONS = DOC_PATH.read_text()
SUBSCRIPTIONS = sorted(
    d.name.value
    for d in parse(OPERATIONS).definitions
    if isinstance(d, OperationDefinitionNode)
    and d.operation is OperationType.SUBSCRIPTION
    and d.name is not None
)


@pytest.fixture
def settings(settings: Any) -> Any:
    """These tests compare the direct fan-out with the stock path: the server runs it,
    with the short executor whatever GRAPHQL_EXECUTOR says. Only with it does the stock path
    execute an event once when it is dispatched; Strawberry's own executor runs each copy when
    its subscriber gets to it, so a copy may already show later data and frames differ by timing.
    """
    return settings.with_overrides(live_fanout="direct", graphql_executor="short")


@contextmanager
def stock_delivery(server: Any) -> Iterator[None]:
    """Subscriptions started inside go through Strawberry's stream (as LIVE_FANOUT=stock)."""
    view = server.server.config.app.state.graphql_view
    fanout, view.live_fanout = view.live_fanout, None
    try:
        yield
    finally:
        view.live_fanout = fanout


async def subscribe(ws: Subscription, op_id: str, name: str, variables: dict[str, Any]) -> None:
    message = {
        "id": op_id,
        "type": "subscribe",
        "payload": {"query": OPERATIONS, "operationName": name, "variables": variables},
    }
    await ws.ws.send(json.dumps(message))


async def settle(ws: Subscription, by_id: dict[str, list[Any]]) -> None:
    """Wait until the server has handled what the client sent (it answers a ping in order),
    keeping the frames that came before the pong."""
    await ws.ws.send(json.dumps({"type": "ping"}))
    while (message := await ws.receive())["type"] != "pong":
        by_id[message.get("id", "")].append(message)


async def frames_until_quiet(
    ws: Subscription, by_id: dict[str, list[Any]], quiet: float = 1.5
) -> dict[str, list[Any]]:
    """Every frame received until none comes for `quiet` seconds, by operation id in order."""
    while True:
        try:
            message = await ws.receive(timeout=quiet)
        except TimeoutError:
            return dict(by_id)
        by_id[message.get("id", "")].append(message)


def text(body: str, message_id: str) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text", NAME, f"T-{NAME}")
    payload["data"]["key"]["id"] = message_id
    payload["data"]["message"] = {"conversation": body}
    return payload


@pytest.fixture
def direct(server: Any) -> Any:
    fanout = server.server.config.app.state.graphql_view.live_fanout
    assert fanout is not None
    return fanout


async def test_every_subscription_sends_the_same_frames_both_ways(
    server, gql, pg, vault, evolution, direct, agent_id, agent_token, admin_token
):
    assert SUBSCRIPTIONS == ["ContactEvents", "InstanceEvents", "MessageEvents", "PresenceEvents"]
    acme = await number(pg, vault, evolution, server, NAME, members=[agent_id])
    other = await number(pg, vault, evolution, server, "vendas")  # not the agent's
    evolution.instances[NAME].presence_subscribed.add(JID)
    secret = vault.webhook_secret(NAME)
    await post_webhook(gql.http, text("before", "B1"), secret)  # replayed with afterSeq "0"
    mine = {"instanceId": acme["id"]}
    plans: list[tuple[str, str, dict[str, Any]]] = [
        ("1", "InstanceEvents", mine),
        ("2", "ContactEvents", {**mine, "afterSeq": "0"}),
        ("3", "MessageEvents", {**mine, "afterSeq": "0"}),
        ("4", "MessageEvents", {**mine, "contactId": acme["contact"]}),
        ("5", "PresenceEvents", mine),
        ("6", "ContactEvents", mine),  # completed by the client half-way
        ("7", "MessageEvents", {"instanceId": other["id"]}),  # NOT_FOUND for the agent
        ("8", "MessageEvents", {**mine, "afterSeq": "x"}),  # BAD_USER_INPUT
        ("9", "ContactEvents", {**mine, "afterSeq": "999999"}),  # RELOAD_REQUIRED
    ]
    async with AsyncExitStack() as stack:
        sockets = {}
        early: dict[str, dict[str, list[Any]]] = {}
        for mode in ("direct", "stock"):
            ws = await stack.enter_async_context(Subscription.connect(server.ws_url, agent_token))
            early[mode] = defaultdict(list)
            with stock_delivery(server) if mode == "stock" else nullcontext():
                for plan in plans:
                    await subscribe(ws, *plan)
                await settle(ws, early[mode])
            sockets[mode] = ws
        # The direct socket's five live streams (2, 3, 4, 6, 9) handed over.
        await wait_for(lambda: sum(len(c.deliveries) for c in direct.channels.values()) == 5)
        # And every stream is listening, or one started without afterSeq begins after "one" (a
        # pong only says the server took the subscribe): the stock socket's seven live streams,
        # the direct socket's InstanceEvents and PresenceEvents, and the five handed over.
        await wait_for(lambda: server.runtime.bus.subscriber_count == 14)
        await post_webhook(gql.http, text("one", "M1"), secret)
        for ws in sockets.values():
            await ws.ws.send(json.dumps({"id": "6", "type": "complete"}))
        await asyncio.sleep(0.3)
        for name in ("messages_update_delivered", "messages_update_read"):
            await post_webhook(gql.http, load_payload(name, NAME, f"T-{NAME}"), secret)
        await post_webhook(gql.http, text("two", "M2"), secret)
        contact_id = await pg.fetchval("SELECT id FROM whatsapp_contacts WHERE name = 'Maria'")
        await gql(
            "mutation($c: ID!) { markContactRead(contactId: $c) { id } }", {"c": str(contact_id)}
        )
        await gql(
            'mutation($id: ID!) { updateInstance(id: $id, input: {displayName: "Novo"}) { id } }',
            {"id": acme["id"]},
        )
        assert await evolution.emit_presence(NAME, JID, "composing") == 200
        received = {m: await frames_until_quiet(ws, early[m]) for m, ws in sockets.items()}
    # Completed right after "one" was posted, 6 got that event or not, on either socket; the
    # frames it got are a beginning of the same frames on both.
    six = sorted((r.pop("6", []) for r in received.values()), key=len)
    assert six[1][: len(six[0])] == six[0]
    assert received["direct"] == received["stock"]
    frames = received["direct"]
    texts = [
        f["payload"]["data"]["messageEvents"]["message"]["textContent"]
        for f in frames["3"]
        if f["payload"]["data"]["messageEvents"]["message"]
    ]
    assert texts[0] == "before" and "one" in texts and texts[-1] == "two"
    assert [f["type"] for f in frames["7"]] in (["error"], ["next", "complete"])
    assert [f["type"] for f in frames["8"]] in (["error"], ["next", "complete"])
    kinds = [f["payload"]["data"]["contactEvents"]["kind"] for f in frames["9"]]
    assert kinds[0] == "RELOAD_REQUIRED" and len(kinds) > 1
    assert all(f["type"] == "next" for f in frames["1"] + frames["5"]) and frames["5"]
    assert all(f["type"] == "next" for f in six[1])


async def test_a_removed_member_gets_the_same_frames_both_ways(
    server, gql, pg, vault, evolution, direct, agent_id, agent_token, monkeypatch
):
    monkeypatch.setattr(access, "ACCESS_RECHECK_SECONDS", 0.0)  # time: re-check every event
    acme = await number(pg, vault, evolution, server, NAME, members=[agent_id])
    secret = vault.webhook_secret(NAME)
    variables = {"instanceId": acme["id"], "afterSeq": "0"}
    async with (
        Subscription.connect(server.ws_url, agent_token) as fast,
        Subscription.connect(server.ws_url, agent_token) as stock,
    ):
        early: dict[str, list[Any]] = defaultdict(list)
        await subscribe(fast, "1", "MessageEvents", variables)
        await settle(fast, early)
        with stock_delivery(server):
            await subscribe(stock, "1", "MessageEvents", variables)
            await settle(stock, early)
        await wait_for(lambda: direct.channels)
        assert server.runtime.bus.subscriber_count == 2  # what liveSubscribers reports
        await post_webhook(gql.http, text("one", "M1"), secret)
        first = [await ws.receive() for ws in (fast, stock)]
        await pg.execute("DELETE FROM whatsapp_instance_members WHERE profile_id = $1", agent_id)
        await post_webhook(gql.http, text("two", "M2"), secret)
        ends = [await ws.receive() for ws in (fast, stock)]
        await wait_for(lambda: not direct.channels)  # the channel goes with its last delivery
    assert not early
    assert first[0] == first[1] and first[0]["type"] == "next"
    assert ends == [{"id": "1", "type": "complete"}] * 2


async def test_every_subscriber_gets_every_event_in_order(
    server, gql, pg, vault, evolution, direct, admin_token
):
    acme = await number(pg, vault, evolution, server, NAME)
    secret = vault.webhook_secret(NAME)
    variables = {"instanceId": acme["id"], "afterSeq": "0"}
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(Subscription.connect(server.ws_url, admin_token))
            for _ in range(10)
        ]
        for ws in sockets:
            await subscribe(ws, "a", "MessageEvents", variables)
            await subscribe(ws, "b", "ContactEvents", variables)
        await wait_for(lambda: direct.channels)
        posts = [post_webhook(gql.http, text(f"m{n}", f"M{n}"), secret) for n in range(20)]
        await asyncio.gather(*posts)
        received = [await frames_until_quiet(ws, defaultdict(list)) for ws in sockets]
    assert all(r == received[0] for r in received)
    seqs = [int(f["payload"]["data"]["messageEvents"]["seq"]) for f in received[0]["a"]]
    assert len(seqs) == 20 and seqs == sorted(seqs)


class StuckSocket:
    """A socket whose client stopped reading: sends never finish (a fault uvicorn cannot be
    made to show: its websocket sends never wait for the client)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.forever = asyncio.Event()

    async def send_text(self, data: str) -> None:
        self.sent.append(data)
        await self.forever.wait()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class ReadingSocket(StuckSocket):
    async def send_text(self, data: str) -> None:
        self.sent.append(data)


async def test_a_socket_that_stops_reading_is_closed_and_holds_up_nobody():
    stuck, reading = StuckSocket(), ReadingSocket()
    slow = live_fanout.Sink(stuck)  # type: ignore[arg-type]
    fine = live_fanout.Sink(reading)  # type: ignore[arg-type]
    for n in range(live_fanout.SOCKET_QUEUE_FRAMES + 2):
        slow.send(f"frame {n}")
        fine.send(f"frame {n}")
        await asyncio.sleep(0)
    await wait_for(lambda: stuck.closed is not None)
    await fine.drained()
    await slow.drained()  # returns: the slow socket is given up, not waited for
    assert stuck.closed == (live_fanout.SLOW_SOCKET_CODE, live_fanout.SLOW_SOCKET_REASON)
    assert stuck.closed[0] == 1013  # Try Again Later: clients reconnect and resume with afterSeq
    assert stuck.sent == ["frame 0"]
    assert reading.sent == [f"frame {n}" for n in range(live_fanout.SOCKET_QUEUE_FRAMES + 2)]
    assert reading.closed is None
    slow.send("after")  # nothing more is queued for a socket given up
    assert slow.frames is None


class LateSocket(StuckSocket):
    """A socket whose sends wait until the client reads again."""

    async def send_text(self, data: str) -> None:
        await self.forever.wait()
        self.sent.append(data)


async def test_frames_that_wait_are_written_later_in_order():
    late = LateSocket()
    sink = live_fanout.Sink(late)  # type: ignore[arg-type]
    for n in range(5):
        sink.send(f"frame {n}")
    assert late.sent == [] and sink.writer is not None
    late.forever.set()  # the client reads again
    await sink.drained()
    assert late.sent == [f"frame {n}" for n in range(5)]
    sink.send("at once")  # nothing queued any more: written without a task
    assert late.sent[-1] == "at once" and sink.writer is None
