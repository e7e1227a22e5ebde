"""Hostile webhook deliveries are refused before their body is read, cost no database work,
and never hold up other requests."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from db import instances as instances_db
from services.platform.rate_limit import RateLimiter
from services.webhooks.urls import point_webhooks_at_own_urls
from tests.helpers import PAYLOADS, create_instance_row, load_payload, post_webhook, wait_for
from tests.standin.evolution import WebhookConfig

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
OWN = "/api/webhooks/evolution/i/acme-support"
SHARED = "/api/webhooks/evolution"
MB = 1024 * 1024


def huge_body(items: int, leading: bool = True) -> bytes:
    """A body of `items` array items (8 bytes each), as in the red-team finding."""
    array = b"[" + b"1234567," * items + b"0]"
    if leading:
        return b'{"event":"messages.upsert","instance":"acme-support","data":' + array + b"}"
    return b'{"data":' + array + b',"event":"messages.upsert","instance":"acme-support"}'


async def partial_post(
    base_url: str, path: str, body: bytes, sent: int, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST declaring all of `body` but sending only its first `sent` bytes, and read the
    answer: one that needs the rest of the body never comes."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        lines = [
            f"POST {path} HTTP/1.1",
            f"host: {url.netloc}",
            "content-type: application/json",
            f"content-length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:sent])
        await writer.drain()
        status = int((await asyncio.wait_for(reader.readline(), 20)).split()[1])
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), 20)) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 20))
        return status, answer
    finally:
        writer.close()


async def nothing_stored(pg: asyncpg.Connection) -> None:
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


@pytest.mark.parametrize("path", [OWN, SHARED], ids=["own-url", "shared-url"])
@pytest.mark.parametrize("secret", [None, "wrong"], ids=["no-secret", "wrong-secret"])
async def test_a_huge_unauthenticated_body_is_refused_before_it_is_read(
    server, pg, instance, path, secret
):
    body = huge_body(4_000_000)  # 32 MB, under WEBHOOK_MAX_BYTES
    headers = {"x-atendimento-secret": secret} if secret else {}
    # Only the first 64 KB are sent: the answer cannot wait for the rest.
    status, answer = await partial_post(server.url, path, body, 64 * 1024, headers)
    assert (status, answer) == (401, {"error": "unauthorized"})
    await nothing_stored(pg)


async def test_a_huge_body_sent_whole_is_answered_while_healthz_answers(server, pg, instance):
    body = huge_body(3_900_000)
    healthz: list[int] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:

        async def keep_asking() -> None:
            while True:
                healthz.append((await http.get("/healthz")).status_code)

        asker = asyncio.create_task(keep_asking())
        started = time.perf_counter()
        for path in (OWN, SHARED):
            response = await http.post(
                path, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 401, response.text
        elapsed = time.perf_counter() - started
        await wait_for(lambda: len(healthz) >= 3)
        asker.cancel()
    assert set(healthz) == {200}
    print(
        f"two 31 MB unauthenticated webhooks answered in {elapsed * 1000:.0f} ms; "
        f"{len(healthz)} /healthz answered meanwhile"
    )
    await nothing_stored(pg)


async def test_a_shared_url_body_not_led_by_its_instance_is_read_only_to_1_mib(
    gql, server, pg, instance, vault
):
    body = huge_body(4_000_000, leading=False)
    status, answer = await partial_post(
        server.url,
        SHARED,
        body,
        2 * MB,
        {"x-atendimento-secret": vault.webhook_secret("acme-support")},
    )
    assert status == 422 and "does not begin with 'event' and 'instance'" in answer["error"]
    await nothing_stored(pg)
    # A small one in any order is read whole, then authenticated as usual.
    payload = load_payload("messages_upsert_text")
    reordered = {"data": payload.pop("data"), **payload}
    response = await post_webhook(gql.http, reordered, vault.webhook_secret("acme-support"))
    assert response.status_code == 200 and response.json()["status"] == "accepted"


@pytest.mark.parametrize("path", [OWN, SHARED], ids=["own-url", "shared-url"])
async def test_a_declared_length_over_the_limit_is_refused_unread(
    server, pg, instance, vault, path
):
    too_long = b"x" * (server.runtime.settings.webhook_max_bytes + 1)
    status, answer = await partial_post(
        server.url,
        path,
        too_long,
        0,
        {"x-atendimento-secret": vault.webhook_secret("acme-support")},
    )
    # 422, not 413: Evolution retries 413 ten times; it does not retry 422.
    assert status == 422 and answer["error"] == "body too large"
    await nothing_stored(pg)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The instance names the receiver looked up in the database."""
    seen: list[str] = []
    real = instances_db.get_instance_by_name

    async def counting(db, name):
        seen.append(name)
        return await real(db, name)

    monkeypatch.setattr(instances_db, "get_instance_by_name", counting)
    return seen


async def test_random_names_cost_no_lookup_and_are_limited_by_address(
    gql, server, pg, vault, instance, lookups
):
    server.runtime.webhook_source_limiter = RateLimiter(0.001, 5)
    answers = []
    for n in range(8):
        name = f"random-{n}"
        payload = load_payload("messages_upsert_text", instance_name=name)
        answers.append((await post_webhook(gql.http, payload, "guess", instance=name)).status_code)
    assert answers == [401] * 5 + [429] * 3
    assert lookups == []  # a wrong secret is refused before any database work
    # The address is limited even for a real number until its bucket refills.
    response = await post_webhook(
        gql.http,
        load_payload("messages_upsert_text"),
        vault.webhook_secret("acme-support"),
        instance="acme-support",
    )
    assert response.status_code == 429
    await nothing_stored(pg)


async def test_unknown_instances_are_remembered_briefly(gql, server, pg, vault, lookups):
    secret = vault.webhook_secret("deleted-number")  # its trailing deliveries after a delete
    payload = load_payload("connection_update_close", instance_name="deleted-number")
    for path_name in ("deleted-number", None, "deleted-number"):
        response = await post_webhook(gql.http, payload, secret, instance=path_name)
        assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert lookups == ["deleted-number"]
    await nothing_stored(pg)


@pytest.mark.parametrize("own_url", [True, False], ids=["own-url", "shared-url"])
async def test_every_recorded_payload_is_accepted(gql, pg, vault, instance, own_url):
    secret = vault.webhook_secret("acme-support")
    for path in sorted(PAYLOADS.glob("*.json")):
        response = await post_webhook(
            gql.http, load_payload(path.stem), secret, instance="acme-support" if own_url else None
        )
        assert response.status_code == 200, (path.name, response.text)
        assert response.json()["status"] in ("accepted", "ignored"), path.name


async def test_numbers_on_the_shared_url_are_moved_to_their_own(server, gql, pg, vault, evolution):
    await create_instance_row(pg, vault)  # created before per-number URLs
    await create_instance_row(pg, vault, name="gone-from-evolution", token="T-GONE")
    secret = vault.webhook_secret("acme-support")
    evolution.add_instance(
        "acme-support",
        token=TOKEN,
        state="open",
        webhook=WebhookConfig(
            url=server.url + SHARED,
            headers={"x-atendimento-secret": secret},
            events=["MESSAGES_UPSERT"],
        ),
    )

    assert await point_webhooks_at_own_urls(server.runtime) == 1
    own_url = server.url + OWN
    [request] = evolution.requests_to("/webhook/set/acme-support")
    assert request.json["webhook"]["url"] == own_url
    assert request.json["webhook"]["headers"] == {"x-atendimento-secret": secret}
    assert (
        await pg.fetchval(
            "SELECT webhook_url FROM whatsapp_instances WHERE instance_name = 'acme-support'"
        )
        == own_url
    )
    assert (
        await pg.fetchval(
            "SELECT webhook_url FROM whatsapp_instances WHERE instance_name = 'gone-from-evolution'"
        )
        is None
    )

    # Evolution now posts to the number's own URL, and it is stored.
    message = load_payload("messages_upsert_text")["data"]
    assert await evolution.emit_message("acme-support", message) == 200
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 1
    # Done once: the next start asks Evolution only about the one not moved.
    assert await point_webhooks_at_own_urls(server.runtime) == 0
    assert len(evolution.requests_to("/webhook/set/acme-support")) == 1
