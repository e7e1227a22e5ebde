"""Contacts' labels (`whatsapp_contact_labels`): free text, compared by `label_key`."""

from __future__ import annotations

import uuid

from databases import Database

from db.sql import Row, execute, fetch_all


async def labels_of(db: Database, contact_ids: list[uuid.UUID]) -> list[Row]:
    return await fetch_all(
        db,
        "SELECT contact_id, label FROM whatsapp_contact_labels "
        "WHERE contact_id = ANY(:ids) ORDER BY contact_id, label_key",
        ids=contact_ids,
    )


async def spellings(db: Database, instance_id: uuid.UUID, keys: list[str]) -> dict[str, str]:
    """How the number already writes each of `keys` (the first spelling used wins)."""
    rows = await fetch_all(
        db,
        """
        SELECT DISTINCT ON (label_key) label_key, label FROM whatsapp_contact_labels
        WHERE instance_id = :instance_id AND label_key = ANY(:keys)
        ORDER BY label_key, added_at, label
        """,
        instance_id=instance_id,
        keys=keys,
    )
    return {r["label_key"]: r["label"] for r in rows}


async def replace_labels(
    db: Database, instance_id: uuid.UUID, contact_id: uuid.UUID, labels: dict[str, str]
) -> None:
    """The contact's labels become `labels` (key → spelling); those kept keep their date."""
    await execute(
        db,
        "DELETE FROM whatsapp_contact_labels WHERE contact_id = :contact_id "
        "AND NOT (label_key = ANY(:keys))",
        contact_id=contact_id,
        keys=list(labels),
    )
    if labels:
        await execute(
            db,
            """
            INSERT INTO whatsapp_contact_labels (contact_id, instance_id, label, label_key)
            SELECT :contact_id, :instance_id, l.label, l.label_key
            FROM unnest(CAST(:spellings AS text[]), CAST(:keys AS text[])) AS l(label, label_key)
            ON CONFLICT (contact_id, label_key) DO NOTHING
            """,
            contact_id=contact_id,
            instance_id=instance_id,
            spellings=list(labels.values()),
            keys=list(labels),
        )


async def label_counts(
    db: Database, instance_id: uuid.UUID, prefix_pattern: str | None, limit: int
) -> list[Row]:
    """The number's labels with how many contacts carry each, most used first."""
    return await fetch_all(
        db,
        """
        SELECT min(label) AS label, label_key, count(*) AS count
        FROM whatsapp_contact_labels
        WHERE instance_id = :instance_id
          AND (CAST(:pattern AS text) IS NULL OR label_key LIKE :pattern)
        GROUP BY label_key
        ORDER BY count(*) DESC, label_key
        LIMIT :limit
        """,
        instance_id=instance_id,
        pattern=prefix_pattern,
        limit=limit,
    )
