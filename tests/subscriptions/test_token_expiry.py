"""A websocket lives longer than its token: every operation checks the token again, the socket is
closed with 4403 when the token expires, and a client resumes with a fresh token and afterSeq."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from services.identity import auth
from services.identity.auth import mint_token
from tests.helpers import (
    JWT_SECRET,
    Subscription,
    load_payload,
    post_webhook,
    wait_for,
)

MESSAGE_EVENTS = """
subscription($instanceId: ID!, $afterSeq: String) {
  messageEvents(instanceId: $instanceId, afterSeq: $afterSeq) { seq message { textContent } }
}"""
RENAME = """
mutation($id: ID!) { updateInstance(id: $id, input: { displayName: "Renamed" }) { id } }"""


def short_token(admin_id: uuid.UUID, seconds: int = 2) -> str:
    return mint_token(JWT_SECRET, sub=admin_id, role="admin", ttl_seconds=seconds)


def text_message(text: str, message_id: str) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text")
    payload["data"]["key"]["id"] = message_id
    payload["data"]["message"] = {"conversation": text}
    return payload


async def close_code(ws: Any, seen: list[dict[str, Any]] | None = None) -> int:
    """Read until the server closes the socket (keeping the events seen); its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if seen is not None and message.get("type") in ("next", "data"):
                seen.append(message["payload"]["data"]["messageEvents"])
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_the_socket_closes_when_its_token_expires_and_a_fresh_one_resumes(
    server, gql, pg, instance, secret, admin_id, admin_token
):
    variables = {"instanceId": str(instance["id"]), "afterSeq": "0"}
    seen: list[dict[str, Any]] = []
    async with Subscription.connect(server.ws_url, short_token(admin_id)) as sub:
        await sub.subscribe(MESSAGE_EVENTS, variables)
        await post_webhook(gql.http, text_message("one", "EXP1"), secret)
        assert await close_code(sub.ws, seen) == 4403
    # While the client was away (or after the close), more arrives.
    await post_webhook(gql.http, text_message("two", "EXP2"), secret)
    await wait_for(lambda: pg.fetchval("SELECT count(*) = 2 FROM whatsapp_messages"))
    after = seen[-1]["seq"] if seen else "0"
    async with Subscription.connect(server.ws_url, admin_token) as sub:
        await sub.subscribe(MESSAGE_EVENTS, {**variables, "afterSeq": after})
        resumed = [(await sub.next_data())["messageEvents"] for _ in range(2 - len(seen))]
    texts = [e["message"]["textContent"] for e in seen + resumed]
    assert texts == ["one", "two"]  # nothing missed, nothing twice


async def test_an_operation_after_expiry_is_refused_and_changes_nothing(
    server, pg, instance, admin_id, monkeypatch
):
    async with Subscription.connect(server.ws_url, short_token(admin_id, 60)) as sub:
        await sub.subscribe(MESSAGE_EVENTS, {"instanceId": str(instance["id"])})
        later = time.time() + 120
        monkeypatch.setattr(auth, "wall_clock", lambda: later)  # the token has expired
        await sub.subscribe(RENAME, {"id": str(instance["id"])})
        assert await close_code(sub.ws) == 4403
    name = await pg.fetchval(
        "SELECT display_name FROM whatsapp_instances WHERE id = $1", instance["id"]
    )
    assert name != "Renamed"


async def legacy_connect(url: str, token: str) -> Any:
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-ws")])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    return ws


async def test_legacy_graphql_ws_closes_at_expiry(server, instance, admin_id):
    ws = await legacy_connect(server.ws_url, short_token(admin_id))
    try:
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {
                        "query": MESSAGE_EVENTS,
                        "variables": {"instanceId": str(instance["id"])},
                    },
                }
            )
        )
        assert await close_code(ws) == 4403
    finally:
        await ws.close()


async def test_legacy_graphql_ws_refuses_an_operation_after_expiry(
    server, pg, instance, admin_id, monkeypatch
):
    ws = await legacy_connect(server.ws_url, short_token(admin_id, 60))
    try:
        later = time.time() + 120
        monkeypatch.setattr(auth, "wall_clock", lambda: later)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {"query": RENAME, "variables": {"id": str(instance["id"])}},
                }
            )
        )
        assert await close_code(ws) == 4403
    finally:
        await ws.close()
    name = await pg.fetchval(
        "SELECT display_name FROM whatsapp_instances WHERE id = $1", instance["id"]
    )
    assert name != "Renamed"
