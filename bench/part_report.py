"""The team inbox's conversation report at 1,000,000 messages.

Seeds a scratch database of its own in SQL (generate_series, a few seconds): one number,
20,000 contacts, three conversations each over 90 days (opened, auto-replied, answered by an
agent, the first two resolved), 17 messages per conversation (1,020,000 in all), and the
conversation log. Then times, for a 30-day period (a third of everything), the statements
`report` runs (db/reports.py, through the application's own database layer), against a bare-SQL
floor measured in the same run: one asyncpg statement counting the period's messages and
openings, the least any such report must read. The figure is the ratio of the two medians.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from bench import seed
from bench.common import Context, Figure, median

CONTACTS = 20_000
CYCLES = 3
PER_CYCLE = 17
RUNS = 7
TARGET_RATIO = 3.0

SEED_SQL = [
    """
    INSERT INTO profiles (id, role, full_name)
    SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'agent', 'Agente ' || n
    FROM generate_series(1, 5) AS n
    """,
    """
    INSERT INTO whatsapp_instances (id, instance_name, instance_token, display_name, status)
    VALUES ($1, 'bench-report', 'unused', 'Bench report', 'connected')
    """,
    """
    INSERT INTO whatsapp_instance_members (instance_id, profile_id)
    SELECT $1, id FROM profiles
    """,
    """
    INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name, assignee_id,
                                   conversation_status, last_message_at)
    SELECT $1, '5511' || lpad(n::text, 9, '0') || '@s.whatsapp.net',
           '5511' || lpad(n::text, 9, '0'), 'Cliente ' || n,
           ('00000000-0000-4000-8000-' || lpad((1 + n % 5)::text, 12, '0'))::uuid,
           'open', $2::timestamptz
    FROM generate_series(1, $3) AS n
    """,
    # Conversation c of contact n starts at base + c * 30 days (base spread over 1,000 minutes):
    # message 0 is the customer's, 1 the auto-reply, then agent and customer in turn, 3 minutes
    # apart; stored (created_at) when sent.
    """
    INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, from_me,
      message_type, text_content, status, timestamp, created_at, sent_by, metadata)
    SELECT $1, k.id, k.id::text || '-' || c || '-' || j, k.remote_jid, j % 2 = 1, 'text',
           'mensagem', 'delivered', t.at, t.at,
           CASE WHEN j % 2 = 1 AND j > 1 THEN k.assignee_id END,
           CASE WHEN j = 1 THEN '{"kind": "auto_reply"}'::jsonb END
    FROM (SELECT id, remote_jid, assignee_id,
                 row_number() OVER (ORDER BY id) AS n FROM whatsapp_contacts) k
    CROSS JOIN generate_series(0, $3 - 1) AS c
    CROSS JOIN generate_series(0, $4 - 1) AS j
    CROSS JOIN LATERAL (
      SELECT $2::timestamptz + (k.n % 1000) * interval '1 minute' + c * interval '30 days'
             + j * interval '3 minutes' AS at) t
    ORDER BY t.at
    """,
    """
    INSERT INTO whatsapp_conversation_log (instance_id, contact_id, at, kind, status, assignee_id)
    SELECT $1, k.id, e.at, e.kind, e.status, k.assignee_id
    FROM (SELECT id, assignee_id, row_number() OVER (ORDER BY id) AS n
          FROM whatsapp_contacts) k
    CROSS JOIN generate_series(0, $3 - 1) AS c
    CROSS JOIN LATERAL (VALUES
      ($2::timestamptz + (k.n % 1000) * interval '1 minute' + c * interval '30 days',
       'opened', 'open'),
      ($2::timestamptz + (k.n % 1000) * interval '1 minute' + c * interval '30 days'
       + interval '2 hours', 'status', 'resolved')
    ) AS e(at, kind, status)
    WHERE e.kind = 'opened' OR c < $3 - 1
    ORDER BY k.id, e.at
    """,
]

FLOOR_SQL = """
SELECT (SELECT count(*) FROM whatsapp_messages
        WHERE instance_id = $1 AND timestamp >= $2 AND timestamp < $3),
       (SELECT count(*) FROM whatsapp_conversation_log
        WHERE instance_id = $1 AND kind = 'opened' AND at >= $2 AND at < $3)
"""


async def _seed(db_url: str, instance_id: uuid.UUID, start: datetime) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(SEED_SQL[0])
        await conn.execute(SEED_SQL[1], instance_id)
        await conn.execute(SEED_SQL[2], instance_id)
        await conn.execute(SEED_SQL[3], instance_id, start, CONTACTS)
        await conn.execute(SEED_SQL[4], instance_id, start, CYCLES, PER_CYCLE)
        await conn.execute(SEED_SQL[5], instance_id, start, CYCLES)
        await conn.execute("VACUUM ANALYZE")  # visibility map: counts read the index alone
        return int(await conn.fetchval("SELECT count(*) FROM whatsapp_messages"))
    finally:
        await conn.close()


async def report(ctx: Context) -> None:
    from db.migrate import apply_migrations
    from db.reports import conversation_figures, message_figures, resolution_figures
    from db.sql import close_database, create_database

    name = seed.database_name(ctx.db_url) + "_report"
    url = seed.with_database(ctx.db_url, name)
    await seed.recreate_database(ctx.admin_url, name)
    try:
        await apply_migrations(url)
        instance_id = uuid.uuid4()
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
        t0 = time.monotonic()
        messages = await _seed(url, instance_id, start)
        seeded = time.monotonic() - t0
        print(f"  seeded {messages:,} messages in {seeded:.1f} s", flush=True)
        period = (start + timedelta(days=30), start + timedelta(days=60))

        db = create_database(url, min_size=1, max_size=1)
        await db.connect()
        floor_conn = await asyncpg.connect(url)
        try:

            async def app_once() -> float:
                began = time.perf_counter()
                for statement in (conversation_figures, resolution_figures, message_figures):
                    await statement(db, [instance_id], *period)
                return (time.perf_counter() - began) * 1000

            async def floor_once() -> float:
                began = time.perf_counter()
                await floor_conn.fetchrow(FLOOR_SQL, instance_id, *period)
                return (time.perf_counter() - began) * 1000

            for once in (app_once, floor_once):  # warm caches and plans
                await once()
                await once()
            app_runs, floor_runs = [], []
            for _ in range(RUNS):  # interleaved, so both see the same machine
                app_runs.append(await app_once())
                floor_runs.append(await floor_once())
            overall = await conversation_figures(db, [instance_id], *period)
        finally:
            await floor_conn.close()
            await close_database(db)
        app_ms, floor_ms = median(app_runs), median(floor_runs)
        conversations = next(int(r["conversations"]) for r in overall if r["overall"])
        ctx.add(
            Figure(
                "report",
                f"report over 30 of 90 days ({messages:,} messages stored), p50",
                app_ms,
                "ms",
                runs=app_runs,
                note=f"{conversations:,} conversations in the period; seeding {seeded:.0f} s",
            )
        )
        ratio = app_ms / floor_ms if floor_ms else float("inf")
        ctx.add(
            Figure(
                "report",
                "report vs bare-SQL floor (count of the period's messages and openings)",
                ratio,
                "x",
                f"≤ {TARGET_RATIO:g}×",
                ratio <= TARGET_RATIO,
                f"floor {floor_ms:.1f} ms",
                runs=floor_runs,
            )
        )
    finally:
        await seed.drop_database(ctx.admin_url, name)
