from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from databases import Database

from db.sql import Row, execute, fetch_all, fetch_one, fetch_val, update_returning

INSTANCE_COLUMNS = """
  i.id, i.instance_name, i.instance_token, i.phone_number, i.display_name, i.status, i.qr_code,
  i.qr_code_text, i.pairing_code, i.qr_code_updated_at, i.webhook_url, i.created_by, i.created_at,
  i.updated_at, i.connected_at, i.disconnected_at, i.last_seen_at, i.profile_name,
  i.profile_picture_url, i.status_reason, i.status_detail, i.evolution_instance_id,
  i.status_held, i.connecting_since
"""


async def insert_instance(
    db: Database,
    *,
    instance_name: str,
    token: str,
    display_name: str,
    webhook_url: str,
    created_by: uuid.UUID,
    default_timezone: str | None = None,
) -> Row:
    row = await fetch_one(
        db,
        f"""
        WITH i AS (
          INSERT INTO whatsapp_instances (instance_name, instance_token, display_name, webhook_url,
                                          created_by)
          VALUES (:name, :token, :display_name, :webhook_url, :created_by)
          RETURNING *
        ), s AS (
          INSERT INTO whatsapp_instance_settings (instance_id, timezone)
          SELECT id, :timezone FROM i
        ), m AS (
          INSERT INTO whatsapp_instance_members (instance_id, profile_id, added_by)
          SELECT id, :created_by, :created_by FROM i
        )
        SELECT {INSTANCE_COLUMNS} FROM i
        """,
        name=instance_name,
        token=token,
        display_name=display_name,
        webhook_url=webhook_url,
        created_by=created_by,
        timezone=default_timezone,
    )
    assert row is not None
    return row


async def get_instance(db: Database, instance_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, f"SELECT {INSTANCE_COLUMNS} FROM whatsapp_instances i WHERE i.id = :id", id=instance_id
    )


async def get_instances(db: Database, ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db, f"SELECT {INSTANCE_COLUMNS} FROM whatsapp_instances i WHERE i.id = ANY(:ids)", ids=ids
    )


async def get_instance_by_name(db: Database, name: str) -> Row | None:
    return await fetch_one(
        db,
        f"SELECT {INSTANCE_COLUMNS} FROM whatsapp_instances i WHERE i.instance_name = :name",
        name=name,
    )


async def list_instances(db: Database, profile_id: uuid.UUID | None) -> list[Row]:
    """Every instance (profile_id None) or those the profile is a member of; by display name."""
    return await fetch_all(
        db,
        f"""
        SELECT {INSTANCE_COLUMNS} FROM whatsapp_instances i
        WHERE CAST(:profile_id AS uuid) IS NULL OR EXISTS (
          SELECT 1 FROM whatsapp_instance_members m
          WHERE m.instance_id = i.id AND m.profile_id = :profile_id)
        ORDER BY lower(i.display_name), i.id
        """,
        profile_id=profile_id,
    )


async def is_member(db: Database, instance_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    return bool(
        await fetch_val(
            db,
            "SELECT EXISTS (SELECT 1 FROM whatsapp_instance_members "
            "WHERE instance_id = :instance_id AND profile_id = :profile_id)",
            instance_id=instance_id,
            profile_id=profile_id,
        )
    )


async def update_instance(db: Database, instance_id: uuid.UUID, **changes: Any) -> Row | None:
    """Set the given columns (names are code, never user input) and touch updated_at."""
    return await update_returning(
        db,
        "whatsapp_instances i",
        changes,
        where="i.id = :instance_id",
        returning=INSTANCE_COLUMNS,
        instance_id=instance_id,
    )


async def touch_last_seen(db: Database, instance_id: uuid.UUID, seen_at: datetime) -> None:
    await execute(
        db,
        "UPDATE whatsapp_instances SET last_seen_at = GREATEST(last_seen_at, :seen_at) "
        "WHERE id = :id",
        id=instance_id,
        seen_at=seen_at,
    )


async def delete_instance(db: Database, instance_id: uuid.UUID) -> bool:
    status = await execute(db, "DELETE FROM whatsapp_instances WHERE id = :id", id=instance_id)
    return status.endswith(" 1")


async def instances_to_reconcile(db: Database, limit: int) -> list[Row]:
    """Instances due for a check of Evolution's state: every one not connected (on its own
    schedule), and connected ones when a check was asked for (at start-up)."""
    return await fetch_all(
        db,
        f"""
        SELECT {INSTANCE_COLUMNS}, i.reconcile_attempts FROM whatsapp_instances i
        WHERE i.reconcile_at <= NOW() OR (i.reconcile_at IS NULL AND i.status <> 'connected')
        ORDER BY i.reconcile_at NULLS FIRST
        LIMIT :limit
        """,
        limit=limit,
    )


async def schedule_reconcile_all(db: Database) -> None:
    await execute(db, "UPDATE whatsapp_instances SET reconcile_at = NOW(), reconcile_attempts = 0")


async def set_reconcile(
    db: Database, instance_id: uuid.UUID, at: datetime | None, attempts: int
) -> None:
    await execute(
        db,
        "UPDATE whatsapp_instances SET reconcile_at = :at, reconcile_attempts = :attempts "
        "WHERE id = :id",
        id=instance_id,
        at=at,
        attempts=attempts,
    )


# Settings ------------------------------------------------------------------------------------


async def get_settings(db: Database, instance_id: uuid.UUID) -> Row | None:
    return await fetch_one(
        db, "SELECT * FROM whatsapp_instance_settings WHERE instance_id = :id", id=instance_id
    )


async def update_settings(db: Database, instance_id: uuid.UUID, **changes: Any) -> Row | None:
    return await update_returning(
        db,
        "whatsapp_instance_settings",
        changes,
        where="instance_id = :instance_id",
        returning="*",
        instance_id=instance_id,
    )


async def plaintext_tokens(db: Database) -> list[Row]:
    return await fetch_all(
        db,
        "SELECT id, instance_token FROM whatsapp_instances "
        "WHERE instance_token NOT LIKE 'fernet:%'",
    )


async def set_token(db: Database, instance_id: uuid.UUID, stored: str) -> None:
    await execute(
        db,
        "UPDATE whatsapp_instances SET instance_token = :token WHERE id = :id",
        id=instance_id,
        token=stored,
    )
