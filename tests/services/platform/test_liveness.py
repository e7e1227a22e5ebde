"""Worker liveness: a claim of a worker whose lock is gone is free at once, a live worker's
claim is left alone until its lease runs out."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from db import media as media_db, outbox as outbox_db
from db.sql import close_database, create_database
from services.platform.liveness import Liveness
from tests.helpers import create_instance_row


async def _alive(pg: asyncpg.Connection, worker: int) -> bool:
    return bool(await pg.fetchval("SELECT atendimento_worker_alive($1)", worker))


async def test_a_worker_lock_lives_as_long_as_its_holder(pg, database_url):
    liveness = Liveness(database_url)
    await liveness.start()
    worker = liveness.worker_id
    assert worker is not None and await _alive(pg, worker)
    other = Liveness(database_url)
    await other.start()
    assert other.worker_id not in (None, worker)
    await liveness.stop()
    assert not await _alive(pg, worker) and await _alive(pg, other.worker_id)
    await other.stop()


async def test_claims_of_a_dead_worker_are_taken_over_at_once(pg, database_url, vault):
    instance = await create_instance_row(pg, vault)
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
        "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
        instance["id"],
    )
    live, dead = Liveness(database_url), Liveness(database_url)
    await live.start()
    await dead.start()
    dead_worker = dead.worker_id
    await dead.stop()  # as a killed process: its lock is gone, its claims still stand
    hour = timedelta(hours=1)
    for n, (worker, kind) in enumerate([(live.worker_id, "live"), (dead_worker, "dead")]):
        await pg.execute(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "from_me, message_type, status, timestamp, media_state, media_claimed_until, "
            "media_claimed_by, claimed_until, claimed_by, created_at) VALUES ($1, $2, $3, "
            "'5511999990002@s.whatsapp.net', $4, 'image', $5, NOW(), 'pending', NOW() + $6, $7, "
            "NOW() + $6, $7, NOW() + $8)",
            instance["id"],
            contact,
            f"{kind}-media",
            kind == "dead",
            "pending" if kind == "dead" else "sent",
            hour,
            worker,
            timedelta(seconds=n),
        )
    db = create_database(database_url)
    await db.connect()
    try:
        claimed = await media_db.claim_pending(db, 10, 60, live.worker_id)
        assert [r["message_id"] for r in claimed] == ["dead-media"]
        message = await outbox_db.claim_next(db, 0, 60, live.worker_id)
        assert message is not None and message["message_id"] == "dead-media"
        assert (
            await pg.fetchval(
                "SELECT claimed_by FROM whatsapp_messages WHERE message_id = 'dead-media'"
            )
            == live.worker_id
        )
        # Now claimed by a live worker: nobody else takes it before its lease runs out.
        assert await outbox_db.claim_next(db, 0, 60, None) is None
        assert await media_db.claim_pending(db, 10, 60, None) == []
    finally:
        await close_database(db)
        await live.stop()
