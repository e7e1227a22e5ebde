from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.migrate import MigrationError, apply_migrations, load_migrations

ROOT = Path(__file__).resolve().parents[2]
SEED_TABLES = {
    "profiles",
    "clients",
    "whatsapp_instances",
    "whatsapp_contacts",
    "whatsapp_messages",
    "whatsapp_quick_messages",
    "whatsapp_instance_settings",
    "whatsapp_auto_reply_log",
}
SEED_INDEXES = {
    "idx_whatsapp_instances_status",
    "idx_whatsapp_instances_created_by",
    "idx_whatsapp_contacts_instance",
    "idx_whatsapp_contacts_remote_jid",
    "idx_whatsapp_contacts_phone",
    "idx_whatsapp_contacts_client",
    "idx_whatsapp_contacts_type",
    "idx_whatsapp_contacts_last_message",
    "idx_whatsapp_messages_instance",
    "idx_whatsapp_messages_contact",
    "idx_whatsapp_messages_timestamp",
    "idx_whatsapp_messages_from_me",
    "idx_whatsapp_messages_status",
    "idx_whatsapp_quick_messages_shortcut",
    "idx_whatsapp_instance_settings_instance",
    "idx_whatsapp_auto_reply_log_instance",
    "idx_whatsapp_auto_reply_log_contact",
}


@pytest.fixture
async def fresh_db(pg_server_url: str) -> AsyncIterator[str]:
    """An empty database of its own, dropped afterwards."""
    name = f"atendimento_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_server_url)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def migrations_before(tmp_path: Path, version: str) -> Path:
    """A folder of this project's migrations that sort before `version`: applying it, then
    the real folder, upgrades a database as it was at that point."""
    folder = tmp_path / f"migrations-before-{version}"
    folder.mkdir()
    for migration in load_migrations():
        if migration.version < version:
            (folder / f"{migration.version}.sql").write_text(migration.sql, encoding="utf-8")
    return folder


async def test_applies_every_migration_once_and_is_idempotent(fresh_db: str) -> None:
    first = await apply_migrations(fresh_db)
    assert first == [m.version for m in load_migrations()]
    assert await apply_migrations(fresh_db) == []

    conn = await asyncpg.connect(fresh_db)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        indexes = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            )
        }
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        defaults = await conn.fetchval("SELECT count(*) FROM whatsapp_quick_messages")
    finally:
        await conn.close()
    assert SEED_TABLES <= tables
    assert SEED_INDEXES <= indexes
    assert recorded == len(first)
    assert defaults >= 3  # the seed's "Insert default data"


async def test_two_processes_migrating_at_once_apply_each_file_once(fresh_db: str) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_db, "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "server.py", "migrate"]
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(asyncio.to_thread(p.communicate, timeout=120) for p in procs))
    assert [p.returncode for p in procs] == [0, 0], outputs

    conn = await asyncpg.connect(fresh_db)
    try:
        versions = [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        ]
    finally:
        await conn.close()
    assert versions == [m.version for m in load_migrations()]
    announced = [out for out, _ in outputs]
    assert sum("none pending" in out for out in announced) == 1, announced


async def test_refuses_an_edited_or_unknown_migration(fresh_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_a.sql").write_text("CREATE TABLE a (id int);")
    await apply_migrations(fresh_db, folder)

    (folder / "0001_a.sql").write_text("CREATE TABLE a (id bigint);")
    with pytest.raises(MigrationError, match="edited"):
        await apply_migrations(fresh_db, folder)

    (folder / "0001_a.sql").unlink()
    with pytest.raises(MigrationError, match="does not know"):
        await apply_migrations(fresh_db, folder)


async def test_a_failing_migration_leaves_nothing_behind(fresh_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE ok (id int);")
    (folder / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT * FROM missing;")
    with pytest.raises(asyncpg.UndefinedTableError):
        await apply_migrations(fresh_db, folder)
    conn = await asyncpg.connect(fresh_db)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT to_regclass('ok')") is not None
        assert [
            r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")
        ] == ["0001_ok"]
    finally:
        await conn.close()


async def test_message_times_become_whole_seconds_and_arrival_decides(
    fresh_db: str, tmp_path: Path
) -> None:
    """0012: a reply stored at 10:00:03.500 before a customer's message of 10:00:03 reached us
    sorts before it afterwards, and the conversation's last message is the customer's."""
    await apply_migrations(fresh_db, migrations_before(tmp_path, "0012"))
    conn = await asyncpg.connect(fresh_db)
    try:
        instance = await conn.fetchval(
            "INSERT INTO whatsapp_instances (instance_name, instance_token, display_name) "
            "VALUES ('acme', 'x', 'Acme') "
            "RETURNING id"
        )
        contact = await conn.fetchval(
            """INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number,
                 last_message_at) VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002',
                 '2026-12-05 10:00:03.5+00') RETURNING id""",
            instance,
        )
        for message_id, from_me, at in (
            ("reply", True, "2026-12-05 10:00:03.5+00"),
            ("customer", False, "2026-12-05 10:00:03+00"),
        ):
            await conn.execute(
                """INSERT INTO whatsapp_messages (instance_id, contact_id, message_id,
                     remote_jid, from_me, message_type, text_content, status, timestamp)
                   VALUES ($1, $2, $3, '5511999990002@s.whatsapp.net', $4, 'text', $3,
                     'delivered', $5::text::timestamptz)""",
                instance,
                contact,
                message_id,
                from_me,
                at,
            )
        await conn.execute(
            """UPDATE whatsapp_contacts SET activity_arrival =
                 (SELECT arrival FROM whatsapp_messages WHERE message_id = 'reply')"""
        )

        assert await apply_migrations(fresh_db) == [
            m.version for m in load_migrations() if m.version >= "0012"
        ]
        newest_first = await conn.fetch(
            """SELECT message_id, timestamp FROM whatsapp_messages
               WHERE contact_id = $1 ORDER BY timestamp DESC, arrival DESC""",
            contact,
        )
        assert [r["message_id"] for r in newest_first] == ["customer", "reply"]
        assert {r["timestamp"].microsecond for r in newest_first} == {0}
        row = await conn.fetchrow(
            "SELECT last_message_at, activity_arrival FROM whatsapp_contacts WHERE id = $1",
            contact,
        )
        assert row is not None and row["last_message_at"].microsecond == 0
        assert row["activity_arrival"] == await conn.fetchval(
            "SELECT arrival FROM whatsapp_messages WHERE message_id = 'customer'"
        )
    finally:
        await conn.close()


async def test_0007_numbers_stored_messages_by_timestamp_then_storage_time(
    fresh_db: str, tmp_path: Path
) -> None:
    """Messages stored before arrival order existed get one by their timestamp, then by when
    they were stored (created_at), then by id; their contact's activity follows its last
    message that is not a reaction, and new messages number on after them."""
    assert (await apply_migrations(fresh_db, migrations_before(tmp_path, "0007")))[-1].startswith(
        "0006_"
    )

    second = datetime(2026, 11, 20, 14, 3, 7, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return second + timedelta(seconds=seconds)

    # (message_id, WhatsApp timestamp, stored at, id, metadata): a burst within one second,
    # stored in another order than listed here and than their ids; two stored at the same
    # instant (the id decides); a message of the second before, stored last; and a reaction,
    # which does not move the conversation.
    rows = [
        ("burst-3", second, at(2.3), 1, None),
        ("burst-1", second, at(1.1), 3, None),
        ("earlier", at(-1), at(3), 255, None),
        ("burst-2", second, at(1.2), 2, None),
        ("burst-4", second, at(2.3), 4, None),
        ("reaction", second, at(4), 5, '{"kind": "reaction"}'),
    ]
    jid = "5511999990002@s.whatsapp.net"
    conn = await asyncpg.connect(fresh_db)
    try:
        instance = await conn.fetchval(
            "INSERT INTO whatsapp_instances (instance_name, instance_token, display_name) "
            "VALUES ('acme', 'x', 'Acme') RETURNING id"
        )
        contact = await conn.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, "
            "last_message_at) VALUES ($1, $2, '5511999990002', $3) RETURNING id",
            instance,
            jid,
            second,
        )
        for message_id, timestamp, stored, pk, metadata in rows:
            await conn.execute(
                "INSERT INTO whatsapp_messages (id, instance_id, contact_id, message_id, "
                "remote_jid, message_type, timestamp, created_at, metadata) "
                "VALUES ($1, $2, $3, $4, $5, 'text', $6, $7, $8::jsonb)",
                uuid.UUID(int=pk),
                instance,
                contact,
                message_id,
                jid,
                timestamp,
                stored,
                metadata,
            )
    finally:
        await conn.close()

    # 0007 alone: later migrations (0012 rounds timestamps) have their own tests.
    applied = await apply_migrations(fresh_db, migrations_before(tmp_path, "0008"))
    assert [v[:4] for v in applied] == ["0007"]

    conn = await asyncpg.connect(fresh_db)
    try:
        numbered = await conn.fetch(
            "SELECT message_id, arrival FROM whatsapp_messages ORDER BY arrival"
        )
        activity = await conn.fetchval(
            "SELECT activity_arrival FROM whatsapp_contacts WHERE id = $1", contact
        )
        later = await conn.fetchval(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "message_type, timestamp) VALUES ($1, $2, 'new', $3, 'text', $4) RETURNING arrival",
            instance,
            contact,
            jid,
            second,
        )
        page = await conn.fetch(
            "SELECT message_id FROM whatsapp_messages WHERE contact_id = $1 "
            "ORDER BY timestamp DESC, arrival DESC",
            contact,
        )
    finally:
        await conn.close()
    order = ["earlier", "burst-1", "burst-2", "burst-3", "burst-4", "reaction"]
    assert [r["message_id"] for r in numbered] == order
    assert [r["arrival"] for r in numbered] == list(range(1, len(order) + 1))
    arrivals = {r["message_id"]: r["arrival"] for r in numbered}
    assert activity == arrivals["burst-4"]  # its last message that is not a reaction
    # A message stored after the migration comes after all of them, even within that second.
    assert later == len(order) + 1
    assert [r["message_id"] for r in page] == ["new", *reversed(order)]
