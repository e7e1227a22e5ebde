"""Retention (DATA_RETENTION_DAYS, MEDIA_RETENTION_DAYS) and deleteInstance's media objects,
with the folder store and an S3 bucket."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.platform.settings import Settings
from services.privacy import retention
from tests.api.media_kit import MESSAGES, deliver
from tests.helpers import load_payload
from tests.privacy.kit import conversation


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(data_retention_days=365, media_retention_days=30)


async def age(pg: asyncpg.Connection, message_type: str, days: int) -> None:
    await pg.execute(
        "UPDATE whatsapp_messages SET timestamp = NOW() - make_interval(days => $2) "
        "WHERE message_type = $1",
        message_type,
        days,
    )


async def test_the_daily_job_deletes_old_messages_and_media_once_for_all_replicas(
    server, gql, pg, vault, evolution, stored, caplog
):
    caplog.set_level(logging.INFO, logger="atendimento.privacy")
    world = await conversation(gql, pg, vault, evolution)
    secret = world["secret"]
    recent = load_payload("messages_upsert_text")
    recent["data"]["key"]["id"] = "RECENT0000000000000000000000000A"
    await deliver(gql, pg, secret, recent)
    # A year and a day ago: the text goes. Forty days ago: the voice note stays, its file goes.
    # Today: stays.
    await age(pg, "text", 366)
    await age(pg, "audio", 40)
    await pg.execute(
        "UPDATE whatsapp_messages SET timestamp = NOW() WHERE message_id = $1",
        recent["data"]["key"]["id"],
    )
    await pg.execute(
        "INSERT INTO whatsapp_auto_reply_log (instance_id, contact_id, message_sent, sent_at) "
        "VALUES ($1, $2, 'Fora do horário', NOW() - interval '400 days')",
        world["instance"]["id"],
        world["contact_id"],
    )
    assert len(stored()) == 2
    runs = await pg.fetchval("SELECT count(*) FROM privacy_log WHERE action = 'retention'")

    # Due now (instead of waiting a day); two processes try at once, one runs it.
    await pg.execute("UPDATE scheduled_jobs SET next_run_at = NOW() WHERE name = 'retention'")
    runtime = server.runtime
    results = await asyncio.gather(retention.run_due(runtime), retention.run_due(runtime))
    [counts] = [r for r in results if r is not None]
    assert counts == {"messages": 1, "media": 1, "auto_replies": 1, "webhook_events": 0}

    kept = await pg.fetch(
        "SELECT message_id, message_type, media_state FROM whatsapp_messages "
        "WHERE message_type <> 'note' ORDER BY 2"
    )
    assert [tuple(r) for r in kept] == [
        (
            load_payload("messages_upsert_audio_ptt_base64")["data"]["key"]["id"],
            "audio",
            "unavailable",
        ),
        (recent["data"]["key"]["id"], "text", None),
    ]
    assert stored() == {}  # the voice note and its M4A rendition
    # The team's note was written today: it stays.
    notes = "SELECT count(*) FROM whatsapp_messages WHERE message_type = 'note'"
    assert await pg.fetchval(notes) == 1
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_auto_reply_log") == 0
    [edge] = [
        e
        for e in (await gql(MESSAGES, {"c": str(world["contact_id"])}))["messages"]["edges"]
        if e["node"]["messageType"] == "AUDIO"
    ]
    assert edge["node"]["mediaState"] == "UNAVAILABLE" and edge["node"]["mediaUrl"] is None
    assert (
        await pg.fetchval("SELECT count(*) FROM privacy_log WHERE action = 'retention'") == runs + 1
    )
    job = await pg.fetchrow("SELECT * FROM scheduled_jobs WHERE name = 'retention'")
    assert job["next_run_at"] > datetime.now(UTC) + timedelta(hours=23)
    assert json.loads(job["last_counts"]) == counts
    # Not due any more: nobody runs it again today.
    assert await retention.run_due(runtime) is None

    metrics = (await gql.http.get("/metrics")).text
    assert 'atendimento_retention_deleted_total{kind="messages"}' in metrics
    assert "atendimento_media_deletions_pending 0.0" in metrics
    assert "retention: deleted 1 messages, 1 media files, 1 auto-reply log rows" in caplog.text


async def test_without_retention_settings_nothing_is_deleted(
    server, gql, pg, vault, evolution, stored
):
    server.runtime.settings = server.runtime.settings.with_overrides(
        data_retention_days=None, media_retention_days=None
    )
    await conversation(gql, pg, vault, evolution)
    await pg.execute("UPDATE whatsapp_messages SET timestamp = NOW() - interval '3650 days'")
    await pg.execute("UPDATE scheduled_jobs SET next_run_at = NOW()")
    assert await retention.run_due(server.runtime) is None
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 3
    assert len(stored()) == 2


async def test_deleting_a_number_deletes_its_media_objects(
    server, gql, pg, vault, evolution, stored, admin_token
):
    world = await conversation(gql, pg, vault, evolution)
    instance_id = str(world["instance"]["id"])
    assert len(stored()) == 2
    data = await gql("mutation($id: ID!) { deleteInstance(id: $id) }", {"id": instance_id})
    assert data["deleteInstance"] == instance_id
    assert stored() == {}
    assert await pg.fetchval("SELECT count(*) FROM media_deletions") == 0
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0


async def test_auto_reply_log_and_webhook_bodies_go_in_batches_skipping_rows_in_use(
    server, gql, pg, vault, evolution, database_url
):
    world = await conversation(gql, pg, vault, evolution)
    instance_id, contact_id = world["instance"]["id"], world["contact_id"]
    await pg.execute("DELETE FROM webhook_events")
    for n in range(6):
        days = 400 if n < 5 else 1  # five old rows of each, one recent
        await pg.execute(
            "INSERT INTO whatsapp_auto_reply_log (instance_id, contact_id, message_sent, sent_at) "
            "VALUES ($1, $2, 'Fora do horário', NOW() - make_interval(days => $3))",
            instance_id,
            contact_id,
            days,
        )
        await pg.execute(
            "INSERT INTO webhook_events (instance_id, event, payload, body_sha256, status, "
            "received_at) VALUES ($1, 'messages.upsert', '{}', $2, 'failed', "
            "NOW() - make_interval(days => $3))",
            instance_id,
            f"sha-{n}",
            days,
        )
    # A processor holds one old webhook row (replaying it) while the job runs: it is skipped.
    holder = await asyncpg.connect(database_url)
    try:
        async with holder.transaction():
            held = await holder.fetchval(
                "SELECT id FROM webhook_events WHERE body_sha256 = 'sha-0' FOR UPDATE"
            )
            counts = await retention.run(server.runtime, batch=2)
    finally:
        await holder.close()
    # Five old rows in batches of two: 2 + 2 + 1 (the loop goes on past full batches).
    assert (counts["auto_replies"], counts["webhook_events"]) == (5, 4)
    ages = await pg.fetch("SELECT sent_at > NOW() - interval '2 days' FROM whatsapp_auto_reply_log")
    assert [tuple(r) for r in ages] == [(True,)]
    left = await pg.fetch("SELECT id, body_sha256 FROM webhook_events ORDER BY id")
    assert [r["body_sha256"] for r in left] == ["sha-0", "sha-5"] and left[0]["id"] == held
