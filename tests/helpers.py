"""Small helpers shared by the tests: a server on a free loopback port, a GraphQL client,
a graphql-transport-ws client, and waiting on a condition instead of sleeping blindly."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import uvicorn
import websockets
from websockets.typing import Subprotocol

if TYPE_CHECKING:  # the stand-in imports this module
    import asyncpg

    from services.platform.crypto import Vault
    from tests.standin.evolution import EvolutionStandIn

T = TypeVar("T")


@dataclass
class ServerHandle:
    url: str
    server: uvicorn.Server
    runtime: Any = None

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[ServerHandle]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, lifespan="on", ws_ping_interval=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started or task.done(), timeout=30)
    if task.done():
        task.result()  # re-raise a start-up failure
        raise RuntimeError("server stopped during start-up")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield ServerHandle(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        await task


async def wait_for(
    condition: Callable[[], Any | Awaitable[Any]], timeout: float = 10, interval: float = 0.01
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class GraphQLError(AssertionError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(json.dumps(errors, ensure_ascii=False))
        self.errors = errors

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


class GraphQLClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def __aenter__(self) -> GraphQLClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def as_user(self, token: str | None) -> GraphQLClient:
        other = GraphQLClient.__new__(GraphQLClient)
        other.base_url, other.token, other.http = self.base_url, token, self.http
        return other

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Run an operation and return `data`; raise GraphQLError when there are errors."""
        body = await self.raw(query, variables, token)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> GraphQLError:
        """Run an operation that must fail; return its errors."""
        body = await self.raw(query, variables, token)
        assert body.get("errors"), f"expected errors, got {body}"
        return GraphQLError(body["errors"])


class Subscription:
    """A graphql-transport-ws client over a real websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._next_id = 0

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, url: str, token: str | None, payload_key: str = "Authorization"
    ) -> AsyncIterator[Subscription]:
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            payload = {payload_key: f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            yield cls(ws)

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        await self.ws.send(
            json.dumps(
                {
                    "id": op_id,
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        return op_id

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message  # type: ignore[no-any-return]

    async def next_data(self, timeout: float = 10) -> dict[str, Any]:
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        payload = message["payload"]
        if payload.get("errors"):
            raise GraphQLError(payload["errors"])
        return payload["data"]  # type: ignore[no-any-return]


PAYLOADS = Path(__file__).resolve().parent / "payloads"
WEBHOOK = "/api/webhooks/evolution"


def load_payload(
    name: str,
    instance_name: str = "acme-support",
    token: str | None = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C",
) -> dict[str, Any]:
    """One of the real Evolution payloads, addressed to our test instance."""
    payload: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    payload["instance"] = instance_name
    payload["apikey"] = token
    return payload


async def create_instance_row(
    pg: Any,
    vault: Any,
    name: str = "acme-support",
    token: str = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C",
    members: Sequence[uuid.UUID] = (),
) -> dict[str, Any]:
    """An instance stored directly, as if created through Evolution (for webhook tests)."""
    row = await pg.fetchrow(
        "INSERT INTO whatsapp_instances (instance_name, instance_token, display_name, status) "
        "VALUES ($1, $2, $3, 'connected') RETURNING *",
        name,
        vault.encrypt(token),
        name.replace("-", " ").title(),
    )
    await pg.execute("INSERT INTO whatsapp_instance_settings (instance_id) VALUES ($1)", row["id"])
    for profile_id in members:
        await pg.execute(
            "INSERT INTO profiles (id, role) VALUES ($1, 'agent') ON CONFLICT DO NOTHING",
            profile_id,
        )
        await pg.execute(
            "INSERT INTO whatsapp_instance_members (instance_id, profile_id) VALUES ($1, $2)",
            row["id"],
            profile_id,
        )
    return dict(row)


async def post_webhook(
    http: httpx.AsyncClient,
    payload: dict[str, Any] | bytes,
    secret: str | None,
    suffix: str | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> httpx.Response:
    """POST to the shared webhook URL, or with `instance` to that number's own URL."""
    all_headers = {"content-type": "application/json"}
    if secret is not None:
        all_headers["x-atendimento-secret"] = secret
    all_headers.update(headers or {})
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    path = WEBHOOK if instance is None else f"{WEBHOOK}/i/{instance}"
    return await http.post(
        path + (f"/{suffix}" if suffix else ""), content=body, headers=all_headers
    )


async def make_conversation(
    pg: asyncpg.Connection,
    vault: Vault,
    evolution: EvolutionStandIn,
    gql: GraphQLClient,
    name: str = "acme-support",
    number: str = "5511999990002",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A connected instance (here and on the stand-in) and a contact that wrote to it."""
    instance = await create_instance_row(pg, vault, name=name, token=f"TOKEN-{name}")
    evolution.add_instance(name, token=f"TOKEN-{name}", state="open")
    contact = await pg.fetchrow(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, $2, $3, 'Maria') RETURNING *",
        instance["id"],
        f"{number}@s.whatsapp.net",
        number,
    )
    assert contact is not None
    return instance, dict(contact)


async def statuses(pg: asyncpg.Connection, *ids: str) -> list[str]:
    return [
        await pg.fetchval("SELECT status FROM whatsapp_messages WHERE id = $1", uuid.UUID(i))
        for i in ids
    ]


async def settled(pg: asyncpg.Connection, *ids: str) -> list[str]:
    async def done() -> bool:
        return all(s != "pending" for s in await statuses(pg, *ids))

    await wait_for(done, timeout=20)
    return await statuses(pg, *ids)


JWT_SECRET = "test-secret-" + "x" * 40
