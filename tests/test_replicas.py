"""Several replicas: a subscriber on process B receives what a webhook brought to process A,
through each shared broadcast backend; outbox workers on both never send one message twice."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.identity.auth import mint_token
from services.platform.crypto import Vault, new_key
from tests.helpers import (
    JWT_SECRET,
    Subscription,
    create_instance_row,
    load_payload,
    post_webhook,
    wait_for,
)
from tests.replica_processes import WEBHOOK_SECRET, replica, replica_process

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIVE = """subscription($i: ID!) { messageEvents(instanceId: $i) { seq message { textContent } } }"""


def _redis_reachable() -> bool:
    parts = httpx.URL(REDIS_URL)
    try:
        with socket.create_connection((parts.host, parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def replica_env(database_url: str, tmp_path: Path, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_"))}
    env.update(
        DATABASE_URL=database_url,
        SUPABASE_JWT_SECRET=JWT_SECRET,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        ENCRYPTION_KEY=key,
        DATA_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.mark.parametrize("backend", ["redis", "postgres"])
async def test_subscriber_on_b_receives_a_webhook_sent_to_a(
    pg, database_url, replica_env, key, tmp_path, backend
):
    if backend == "redis" and not _redis_reachable():
        pytest.skip(f"no Redis at {REDIS_URL} (set TEST_REDIS_URL); the postgres case still runs")
    env = {**replica_env, "BROADCAST_URL": REDIS_URL if backend == "redis" else database_url}
    vault = Vault(key, WEBHOOK_SECRET)
    instance = await create_instance_row(pg, vault)
    token = mint_token(JWT_SECRET, sub=uuid.uuid4(), role="admin")
    async with replica(env, tmp_path) as a, replica(env, tmp_path) as b:
        ws_url = b.replace("http://", "ws://") + "/graphql"
        async with Subscription.connect(ws_url, token) as ws, httpx.AsyncClient(base_url=a) as http:
            # Live only (no afterSeq): anything B yields came through the broadcast backend.
            await ws.subscribe(LIVE, {"i": str(instance["id"])})
            received = None
            for attempt in range(10):  # the subscription may not be registered at first
                payload = load_payload("messages_upsert_text")
                payload["data"]["key"]["id"] = f"CROSS-{attempt}"
                payload["data"]["message"] = {"conversation": f"via A #{attempt}"}
                response = await post_webhook(http, payload, vault.webhook_secret("acme-support"))
                assert response.status_code == 200
                try:
                    received = (await ws.next_data(timeout=2))["messageEvents"]
                    break
                except TimeoutError:
                    continue
    assert received is not None and received["message"]["textContent"].startswith("via A #")


async def test_two_outbox_workers_never_send_a_message_twice(
    pg, replica_env, key, tmp_path, evolution
):
    vault = Vault(key, WEBHOOK_SECRET)
    env = {
        **replica_env,
        "EVOLUTION_API_BASE_URL": evolution.url,
        "EVOLUTION_API_KEY": evolution.api_key,
        "SEND_INTERVAL_SECONDS": "0",
    }
    instances = []
    for n in range(4):
        name = f"replica-{n}"
        instance = await create_instance_row(pg, vault, name=name, token=f"T-{n}")
        evolution.add_instance(name, token=f"T-{n}", state="open")
        contact = await pg.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
            "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
            instance["id"],
        )
        instances.append((instance["id"], contact))
    await pg.executemany(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "from_me, message_type, text_content, status, timestamp, created_at) VALUES ($1, $2, "
        "$3, '5511999990002@s.whatsapp.net', true, 'text', $3, 'pending', NOW(), "
        "NOW() + make_interval(secs => $4))",
        [(i, c, f"local-{n}-{m}", m) for n, (i, c) in enumerate(instances) for m in range(15)],
    )
    async with replica(env, tmp_path), replica(env, tmp_path):

        async def all_sent() -> bool:
            return (
                int(
                    await pg.fetchval(
                        "SELECT count(*) FROM whatsapp_messages WHERE status = 'pending'"
                    )
                )
                == 0
            )

        await wait_for(all_sent, timeout=60)
    texts = [m.request["text"] for m in evolution.sent]
    assert len(texts) == 60 and len(set(texts)) == 60
    for n in range(4):  # and each number's messages went out oldest first
        assert [t for t in texts if t.startswith(f"local-{n}-")] == [
            f"local-{n}-{m}" for m in range(15)
        ]


async def _queue_texts(pg: asyncpg.Connection, instance_id: uuid.UUID, texts: list[str]) -> None:
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
        "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
        instance_id,
    )
    await pg.executemany(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "from_me, message_type, text_content, status, timestamp, created_at) VALUES ($1, $2, "
        "$3, '5511999990002@s.whatsapp.net', true, 'text', $3, 'pending', NOW(), "
        "NOW() + make_interval(secs => $4))",
        [(instance_id, contact, text, n) for n, text in enumerate(texts)],
    )


async def test_sends_resume_within_seconds_when_the_sending_replica_is_killed(
    pg, replica_env, key, tmp_path, evolution
):
    vault = Vault(key, WEBHOOK_SECRET)
    env = {
        **replica_env,
        "EVOLUTION_API_BASE_URL": evolution.url,
        "EVOLUTION_API_KEY": evolution.api_key,
        "SEND_INTERVAL_SECONDS": "0",
    }
    instance = await create_instance_row(pg, vault, name="killed", token="T-K")
    evolution.add_instance("killed", token="T-K", state="open")
    texts = [f"queued-{n}" for n in range(6)]
    await _queue_texts(pg, instance["id"], texts)
    evolution.delay_next("/message/sendText", 60)  # the first send hangs: A dies with it
    async with replica_process(env, tmp_path) as (_a, a_process):
        await wait_for(lambda: evolution.requests_to("/message/sendText"), timeout=30)
        async with replica(env, tmp_path):
            # B is up, and leaves alone the number whose send A has in flight.
            assert len(evolution.requests_to("/message/sendText")) == 1
            a_process.kill()  # SIGKILL: nothing released, A's lease would run for a minute

            async def all_sent() -> bool:
                return (
                    int(
                        await pg.fetchval(
                            "SELECT count(*) FROM whatsapp_messages WHERE status = 'pending'"
                        )
                    )
                    == 0
                )

            await wait_for(all_sent, timeout=10)
    sent = [m.request["text"] for m in evolution.sent]
    # The one in flight at the kill may reach WhatsApp twice; every other exactly once, in order.
    assert [t for t in sent if t != texts[0]] == texts[1:]
    assert 1 <= sent.count(texts[0]) <= 2


async def test_a_killed_replica_releases_the_instance_it_was_processing(
    pg, database_url, replica_env, key, tmp_path
):
    vault = Vault(key, WEBHOOK_SECRET)
    instance = await create_instance_row(pg, vault)
    blocker = await asyncpg.connect(database_url)
    try:
        hold = blocker.transaction()
        await hold.start()
        # A's processor will wait on this row while holding the instance's processing lock.
        await blocker.execute(
            "SELECT 1 FROM whatsapp_instances WHERE id = $1 FOR NO KEY UPDATE", instance["id"]
        )
        async with replica_process(replica_env, tmp_path) as (a, a_process):
            async with httpx.AsyncClient(base_url=a) as http:
                response = await post_webhook(
                    http,
                    load_payload("connection_update_close"),
                    vault.webhook_secret("acme-support"),
                )
            assert response.status_code == 200

            async def a_holds_the_lock() -> bool:
                return bool(
                    await pg.fetchval(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND classid = 7001 AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database())"
                    )
                )

            await wait_for(a_holds_the_lock, timeout=30)
            async with replica(replica_env, tmp_path):
                a_process.kill()
                await hold.rollback()  # A's statement ends; its backend finds A gone

                async def applied() -> bool:
                    return (
                        str(
                            await pg.fetchval(
                                "SELECT status FROM whatsapp_instances WHERE id = $1",
                                instance["id"],
                            )
                        )
                        == "disconnected"
                    )

                await wait_for(applied, timeout=10)
    finally:
        await blocker.close()
