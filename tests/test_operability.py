"""What operators rely on: metrics, request logs, system status, replay, CLI, graceful stop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from services.platform.crypto import Vault, new_key
from services.platform.logs import JsonFormatter
from tests.helpers import JWT_SECRET, create_instance_row, load_payload, post_webhook, wait_for
from tests.replica_processes import WEBHOOK_SECRET, replica

ROOT = Path(__file__).resolve().parent.parent


async def settle(pg: asyncpg.Connection) -> None:
    async def done() -> bool:
        pending: int = await pg.fetchval(
            "SELECT count(*) FROM webhook_events WHERE status = 'pending'"
        )
        return pending == 0

    await wait_for(done)


async def test_metrics_cover_webhooks_evolution_graphql_and_backlogs(gql, pg, vault, evolution):
    await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    await post_webhook(gql.http, load_payload("messages_upsert_text"), secret)
    await post_webhook(gql.http, load_payload("messages_upsert_text"), "wrong")
    await settle(pg)
    await gql("query Contatos { viewer { id } }")
    await gql('mutation { createInstance(input: {displayName: "Metricas"}) { id } }')
    text = (await gql.http.get("/metrics")).text
    for line in (
        'atendimento_webhook_events_received_total{event="messages.upsert",status="200"}',
        # Refused before its body is read: its event is not known yet.
        'atendimento_webhook_events_received_total{event="other",status="401"}',
        'atendimento_webhook_events_processed_total{event="messages.upsert",outcome="done"}',
        'atendimento_evolution_calls_total{method="POST",route="/instance/create",status="201"}',
        'atendimento_graphql_operation_seconds_count{operation="Contatos",type="query"}',
        "atendimento_outbox_pending ",
        "atendimento_outbox_oldest_pending_seconds ",
        'atendimento_instance_connected{instance="acme-support",status="connected"} 1.0',
        "atendimento_live_subscribers ",
    ):
        assert line in text, line


async def test_request_id_and_one_log_line_per_request(gql, caplog):
    caplog.set_level(logging.INFO, logger="atendimento.http")
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Bearer {gql.token}", "X-Request-ID": "req-123"},
    )
    assert response.headers["x-request-id"] == "req-123"
    assert (await gql.http.get("/healthz")).headers["x-request-id"]  # generated when absent
    [record] = [
        r
        for r in caplog.records
        if r.name == "atendimento.http" and "POST /graphql" in r.getMessage()
    ]
    assert record.ctx_request_id == "req-123" and record.ctx_status == 200
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "req-123" and entry["status"] == 200
    assert "Maria" not in record.getMessage()  # no message text, no query body


async def test_system_status_failed_events_and_replay(gql, pg, vault, agent_token):
    instance = await create_instance_row(pg, vault)
    await pg.execute(
        "INSERT INTO webhook_events (instance_id, event, payload, body_sha256, status, "
        "attempts, last_error) VALUES ($1, 'messages.upsert', $2, 'x', 'failed', 5, "
        "'KeyError: boom')",
        instance["id"],
        json.dumps(load_payload("messages_upsert_text")),
    )
    query = """{ systemStatus { ready instancesByStatus { status count } failedWebhookEvents
                 pendingWebhookEvents outboxPending liveSubscribers }
                 failedWebhookEvents { id event attempts lastError instanceName } }"""
    data = await gql(query)
    assert data["systemStatus"]["ready"] is True
    assert data["systemStatus"]["instancesByStatus"] == [{"status": "CONNECTED", "count": 1}]
    assert data["systemStatus"]["failedWebhookEvents"] == 1
    [failed] = data["failedWebhookEvents"]
    assert failed["lastError"] == "KeyError: boom" and failed["instanceName"] == "acme-support"
    assert (await gql.error("{ systemStatus { ready } }", token=agent_token)).codes == ["FORBIDDEN"]

    replayed = await gql("mutation($id: ID) { replayWebhookEvents(id: $id) }", {"id": failed["id"]})
    assert replayed["replayWebhookEvents"] == 1
    await settle(pg)
    assert await pg.fetchval("SELECT status FROM webhook_events") == "done"
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 1


def cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    env.update(
        DATABASE_URL=database_url,
        DATA_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
        SUPABASE_JWT_SECRET=JWT_SECRET,
    )
    return subprocess.run(
        [sys.executable, "server.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_lists_and_replays_failed_events(pg, database_url, tmp_path, vault):
    instance = await create_instance_row(pg, vault)
    event_id = await pg.fetchval(
        "INSERT INTO webhook_events (instance_id, event, payload, body_sha256, status, "
        "attempts, last_error) VALUES ($1, 'messages.upsert', '{}', 'y', 'failed', 5, "
        "'ValueError: bad') RETURNING id",
        instance["id"],
    )
    listed = await asyncio.to_thread(cli, database_url, tmp_path, "events", "list", "--failed")
    assert listed.returncode == 0 and "ValueError: bad" in listed.stdout
    assert f"{event_id}" in listed.stdout
    replayed = await asyncio.to_thread(
        cli, database_url, tmp_path, "events", "replay", "--id", str(event_id)
    )
    assert replayed.returncode == 0 and "queued 1" in replayed.stdout
    assert await pg.fetchval("SELECT status FROM webhook_events") == "pending"
    token = await asyncio.to_thread(cli, database_url, tmp_path, "token", "--role", "agent")
    assert token.stdout.count(".") == 2


async def test_sigterm_finishes_sends_in_flight_and_releases_the_rest(
    pg, database_url, tmp_path, evolution
):
    key = new_key()
    vault = Vault(key, WEBHOOK_SECRET)
    instance = await create_instance_row(pg, vault, token="T")
    evolution.add_instance("acme-support", token="T", state="open")
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) VALUES "
        "($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
        instance["id"],
    )
    await pg.executemany(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, from_me,"
        " message_type, text_content, status, timestamp, created_at) VALUES ($1, $2, $3, "
        "'5511999990002@s.whatsapp.net', true, 'text', $3, 'pending', NOW(), "
        "NOW() + make_interval(secs => $4))",
        [(instance["id"], contact, f"m{n}", n) for n in range(3)],
    )
    evolution.delay_next("/message/sendText/", 1.5)  # the first send is slow
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        SUPABASE_JWT_SECRET=JWT_SECRET,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        ENCRYPTION_KEY=key,
        DATA_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
        EVOLUTION_API_BASE_URL=evolution.url,
        EVOLUTION_API_KEY=evolution.api_key,
        SEND_INTERVAL_SECONDS="30",
    )
    port_env = dict(env)
    proc = subprocess.Popen(
        [sys.executable, "server.py", "serve"],
        cwd=ROOT,
        env=port_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(lambda: evolution.requests_to("/message/sendText/"), timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = {r["text_content"]: r for r in await pg.fetch("SELECT * FROM whatsapp_messages")}
    assert rows["m0"]["status"] == "sent"  # the send in flight was finished, not dropped
    assert rows["m1"]["status"] == "pending" and rows["m1"]["claimed_until"] is None
    # Another process takes over what is left; nothing is sent twice.
    await pg.execute("UPDATE whatsapp_instances SET next_send_at = NOW()")
    async with replica({**env, "SEND_INTERVAL_SECONDS": "0"}, tmp_path):

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
    assert sorted(m.request["text"] for m in evolution.sent) == ["m0", "m1", "m2"]
