"""Deleting media objects from the store (folder or S3) so that none is ever left behind.

Whoever deletes rows that name objects queues those objects (`media_deletions`) in the same
transaction, then tries them at once; a deletion the store refuses (S3 down, a permission)
stays queued and is retried with growing delays by the cleaner of any replica (SKIP LOCKED and a
lease keep two from working on one). Keys are made of ids only, never of personal data.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from db import privacy as privacy_db
from db.sql import Row
from services.media.codec import RENDITIONS
from services.platform.capabilities import WithDatabase, WithMedia
from services.platform.metrics import MEDIA_DELETION_FAILURES, MEDIA_OBJECTS_DELETED
from services.platform.waiting import in_own_task, wait_any


class Uses(WithDatabase, WithMedia, Protocol): ...


log = logging.getLogger("atendimento.media")

MEDIA_TYPES = ("audio", "image", "video", "document", "sticker")
LEASE_SECONDS = 120.0
BATCH = 100
IDLE_POLL_SECONDS = 5.0


def message_key(instance_id: uuid.UUID | str, message_pk: uuid.UUID | str) -> str:
    """Where the media of an incoming (or phone-sent) message is kept."""
    return f"messages/{instance_id}/{message_pk}"


def with_renditions(key: str) -> list[str]:
    """The object and the audio renditions that may have been made from it."""
    return [key, *(f"{key}.{fmt}" for fmt in RENDITIONS)]


def instance_prefixes(instance_id: uuid.UUID) -> list[str]:
    """Every folder that holds objects of a number."""
    return [f"messages/{instance_id}/", f"outgoing/{instance_id}/"]


def object_keys(messages: Iterable[Row]) -> list[str]:
    """Every object deleted message rows may have in the store: their stored media, uploads,
    the key a fetch in flight would write, and renditions of each."""
    keys: set[str] = set()
    for row in messages:
        names = {row["media_key"], row["upload_key"]}
        if row["message_type"] in MEDIA_TYPES:
            names.add(message_key(row["instance_id"], row["id"]))
        for name in names - {None}:
            keys.update(with_renditions(name))
    return sorted(keys)


def retry_delay(attempts: int) -> timedelta:
    """10 s, 30 s, 90 s, … up to six hours: a store that is down for a day still gets them."""
    return timedelta(seconds=min(10 * 3 ** max(attempts - 1, 0), 6 * 3600))


async def purge(runtime: Uses, keys: list[str] | None = None) -> tuple[int, int]:
    """Delete queued objects: `keys` now, or else those that are due. (deleted, failed)."""
    deleted = failed = 0
    while True:
        claimed = await privacy_db.claim_deletions(runtime.db, BATCH, LEASE_SECONDS, keys)
        for row in claimed:
            if await _delete(runtime, row):
                deleted += 1
            else:
                failed += 1
        if keys is not None or len(claimed) < BATCH:
            return deleted, failed


async def _delete(runtime: Uses, row: Row) -> bool:
    key = row["key"]
    try:
        if row["is_prefix"]:
            await runtime.media.delete_prefix(key)
        else:
            await runtime.media.delete(key)
    except Exception as error:
        MEDIA_DELETION_FAILURES.inc()
        log.warning(
            "media object %s not deleted (attempt %s), retried later: %s",
            key,
            row["attempts"],
            f"{type(error).__name__}: {error}"[:300],
        )
        await privacy_db.deletion_failed(
            runtime.db,
            key,
            f"{type(error).__name__}: {error}"[:1000],
            datetime.now(UTC) + retry_delay(row["attempts"]),
        )
        return False
    MEDIA_OBJECTS_DELETED.inc()
    await privacy_db.deletion_done(runtime.db, key)
    return True


async def discard(runtime: Uses, keys: list[str]) -> None:
    """Objects just written for a row that no longer exists (erased while its media was being
    fetched or converted): deleted now, or queued when the store refuses."""
    await privacy_db.queue_deletions(runtime.db, keys)
    await purge(runtime, keys)


class MediaCleaner:
    """The background retry of queued deletions, in every process (replicas share the queue)."""

    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await in_own_task(purge(self.runtime))
                failures = 0
            except Exception:
                failures += 1
                log.exception("deleting queued media objects failed; retrying")
            await wait_any(stop, timeout=IDLE_POLL_SECONDS * 2 ** min(failures, 4))
