"""Subscriptions over HTTP: Apollo Client's multipart protocol and GraphQL over SSE, with the
websocket's authorisation and `afterSeq` resumption."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from services.identity import auth
from tests.helpers import create_instance_row, load_payload, post_webhook

EVENTS = """subscription($instanceId: ID!, $afterSeq: String) {
  messageEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq kind message { textContent } } }"""
MULTIPART = 'multipart/mixed;subscriptionSpec="1.0", application/json'
SSE = "text/event-stream"


def text_message(text: str, key: str) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text")
    payload["data"]["key"]["id"] = key
    payload["data"]["message"] = {"conversation": text}
    return payload


class StreamReader:
    """Execution results of a multipart or SSE response, read as they come."""

    def __init__(self, response: httpx.Response, accept: str) -> None:
        self.chunks = response.aiter_text()
        self.sse = accept == SSE
        self.buffer = ""
        self.results: list[dict[str, Any]] = []

    async def next(self) -> dict[str, Any]:
        while not self.results:
            try:
                # A stream that stops sending fails the test instead of hanging it.
                chunk = await asyncio.wait_for(anext(self.chunks), 10)
                self.buffer += chunk.replace("\r\n", "\n") if self.sse else chunk
            except StopAsyncIteration:
                raise AssertionError("the stream ended") from None
            self._parse()
        return self.results.pop(0)

    def _parse(self) -> None:
        if self.sse:
            *events, self.buffer = self.buffer.split("\n\n")
            for event in events:
                data = [line[5:].strip() for line in event.splitlines() if line.startswith("data:")]
                if "event: next" in event and data:
                    self.results.append(json.loads("".join(data)))
        else:
            *parts, self.buffer = self.buffer.split("\r\n--graphql")
            for part in parts:
                body = part.split("\r\n\r\n", 1)[-1].strip()
                if body.startswith("{") and '"payload"' in body:
                    self.results.append(json.loads(body)["payload"])


@pytest.mark.parametrize("accept", [MULTIPART, SSE], ids=["multipart", "sse"])
async def test_subscriptions_over_http_deliver_and_resume(
    server, gql, pg, vault, admin_token, accept
):
    instance = await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    assert (await post_webhook(gql.http, text_message("antes", "K1"), secret)).status_code == 200
    body = {"query": EVENTS, "variables": {"instanceId": str(instance["id"]), "afterSeq": "0"}}
    headers = {"authorization": f"Bearer {admin_token}", "accept": accept}
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(accept.split(",")[0].split(";")[0])
            # The missed event first (afterSeq), then a live one.
            stream = StreamReader(response, accept)
            first = await stream.next()
            assert first["data"]["messageEvents"]["message"]["textContent"] == "antes"
            assert (
                await post_webhook(gql.http, text_message("depois", "K2"), secret)
            ).status_code == 200
            second = await stream.next()
            event = second["data"]["messageEvents"]
            assert event["message"]["textContent"] == "depois"
            assert int(event["seq"]) > int(first["data"]["messageEvents"]["seq"])


@pytest.mark.parametrize("accept", [MULTIPART, SSE], ids=["multipart", "sse"])
async def test_subscriptions_over_http_need_a_token_and_membership(
    server, pg, vault, agent_token, accept
):
    instance = await create_instance_row(pg, vault)  # the agent is no member
    body = {"query": EVENTS, "variables": {"instanceId": str(instance["id"])}}
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        anonymous = await http.post("/graphql", json=body, headers={"accept": accept})
        assert anonymous.status_code in (200, 401)
        assert "UNAUTHENTICATED" in anonymous.text
        async with http.stream(
            "POST",
            "/graphql",
            json=body,
            headers={"authorization": f"Bearer {agent_token}", "accept": accept},
        ) as response:
            refused = await StreamReader(response, accept).next()
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert refused.get("data") is None


async def test_an_http_subscription_ends_when_its_token_expires(
    server, gql, pg, vault, admin_token, monkeypatch
):
    instance = await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    body = {"query": EVENTS, "variables": {"instanceId": str(instance["id"])}}
    headers = {"authorization": f"Bearer {admin_token}", "accept": MULTIPART}
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
            stream = StreamReader(response, MULTIPART)
            assert (
                await post_webhook(gql.http, text_message("antes", "K1"), secret)
            ).status_code == 200
            assert (await stream.next())["data"]["messageEvents"]["message"][
                "textContent"
            ] == "antes"
            later = auth.wall_clock() + 8 * 24 * 3600  # past the token's expiry
            monkeypatch.setattr(auth, "wall_clock", lambda: later)
            assert (
                await post_webhook(gql.http, text_message("depois", "K2"), secret)
            ).status_code == 200
            with pytest.raises(AssertionError, match="the stream ended"):
                await stream.next()  # no "depois": the stream completed instead
