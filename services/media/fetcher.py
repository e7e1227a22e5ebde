"""Media of incoming (and phone-sent) messages, fetched in the background into the media store.

A message is stored at once with `media_state = 'pending'`; a message is never held back by its
media. Where the bytes come from, first that works:
1. `message.base64` of the webhook, when the instance sends it (stored while the message is
   ingested, see `keep_inline`);
2. Evolution's own S3 copy (`message.mediaUrl`, a presigned URL), when Evolution has S3;
3. `POST /chat/getBase64FromMediaMessage` (CONTRACT §4.4).

Failures are retried with growing delays; after MAX_ATTEMPTS the media becomes UNAVAILABLE
with the reason (Evolution unable to decrypt, the file expired on WhatsApp's servers…), and the
message stays as it is. Ready or unavailable, an "updated" event tells subscribers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from db import instances as instances_db, media as media_db, messages as messages_db
from db.sql import Row
from services.errors import AppError, Conflict, NotFound
from services.identity import access
from services.identity.auth import Principal
from services.instances.lifecycle import token_of
from services.media import cleanup
from services.media.cleanup import message_key, with_renditions
from services.media.codec import duration_seconds
from services.media.types import base_type, detect
from services.platform import events
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithLiveness,
    WithMedia,
    WithMediaWakeup,
    WithSettings,
    WithVault,
)
from services.platform.events import Publication
from services.platform.waiting import drain, wait_any
from services.webhooks.message_content import MessageContent


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithMedia,
    WithLiveness,
    WithMediaWakeup,
    Protocol,
): ...


log = logging.getLogger("atendimento.media")

MEDIA_TYPES = ("audio", "image", "video", "document", "sticker")
MAX_ATTEMPTS = 8
CONCURRENCY = 4
IDLE_POLL_SECONDS = 1.0
DOWNLOAD_TIMEOUT_SECONDS = 60.0


class Unavailable(Exception):
    """The media cannot be had, and trying again would not change that."""


def retry_delay(attempts: int) -> timedelta:
    """5 s, 15 s, 45 s, … up to an hour: about 1.5 hours of attempts in all."""
    return timedelta(seconds=min(5 * 3 ** max(attempts - 1, 0), 3600))


def incoming_columns(content: MessageContent) -> dict[str, Any]:
    """What a newly ingested message stores about its media: to be fetched, and from where."""
    if content.message_type not in MEDIA_TYPES:
        return {}
    return {"media_state": "pending", "media_source_url": content.media_url}


def store_key(message: Row) -> str:
    return message_key(message["instance_id"], message["id"])


async def put(
    runtime: WithMedia, message: Row, data: bytes, mime_type: str | None, file_name: str | None
) -> dict[str, Any]:
    """Write `data` to the store as the media of `message`; returns what `mark_ready` takes."""
    key = store_key(message)
    mime = mime_type or message["media_mime_type"] or detect(data) or "application/octet-stream"
    seconds = None
    if message["media_seconds"] is None and message["message_type"] in ("audio", "video"):
        seconds = await asyncio.to_thread(duration_seconds, data)
    await runtime.media.put(key, data, base_type(mime))
    return {
        "key": key,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "mime_type": mime,
        "file_name": file_name,
        "seconds": seconds,
    }


async def mark_ready(runtime: WithDatabase, message: Row, stored: dict[str, Any]) -> Row | None:
    """The message with its media ready; None when the message is gone (erased, or its number
    deleted, while the bytes were being fetched)."""
    return await media_db.mark_ready(runtime.db, message["id"], **stored)


async def _discard_orphan(runtime: Uses, message: Row, stored: dict[str, Any]) -> None:
    """The message was erased while its media was in flight: the object just written must not
    outlive it (the erasure already deleted what it knew of)."""
    log.info("message %s is gone: its media just stored is deleted", message["id"])
    await cleanup.discard(runtime, with_renditions(stored["key"]))


async def keep_inline(runtime: Uses, message: Row, data: dict[str, Any]) -> Row:
    """While ingesting: store `message.base64` when the webhook carries it. Anything wrong with
    it (damaged, too large, the store down) leaves the media pending for the fetcher."""
    if message["media_state"] != "pending":
        return message
    runtime.media_wakeup.set()
    content = data.get("message") if isinstance(data.get("message"), dict) else {}
    encoded = content.get("base64") if isinstance(content, dict) else None
    if not isinstance(encoded, str) or not encoded:
        return message
    try:
        stored = await put(
            runtime, message, _decode(encoded, runtime.settings.media_max_bytes), None, None
        )
    except Exception as error:  # the message is never held back by its media
        log.warning("media of message %s not stored from the webhook: %s", message["id"], error)
        return message
    row = await mark_ready(runtime, message, stored)
    if row is None:
        await _discard_orphan(runtime, message, stored)
        return message
    return row


def _decode(encoded: str, max_bytes: int) -> bytes:
    if len(encoded) > (max_bytes + 2) // 3 * 4 + 16:
        raise Unavailable(f"the file is larger than MEDIA_MAX_BYTES ({max_bytes} bytes)")
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("Evolution API sent media that is not valid base64") from None
    if not raw:
        raise ValueError("Evolution API sent an empty file")
    if len(raw) > max_bytes:
        raise Unavailable(f"the file is larger than MEDIA_MAX_BYTES ({max_bytes} bytes)")
    return raw


async def fetch_again(runtime: Uses, principal: Principal, message_pk: uuid.UUID) -> Row:
    """`retryMedia`: an UNAVAILABLE media back in the queue, its attempts starting over."""
    db = runtime.db
    message = await messages_db.get_message(db, message_pk)
    if message is None or not await access.can_access_instance(
        db, principal, message["instance_id"]
    ):
        raise NotFound("Message not found", id=str(message_pk))
    if message["media_state"] != "unavailable":
        raise Conflict(
            "Only UNAVAILABLE media can be fetched again",
            mediaState=(message["media_state"] or "none").upper(),
        )
    async with db.transaction():
        row = await media_db.request_again(db, message_pk)
        if row is None:
            raise Conflict("The media is no longer UNAVAILABLE")
        published = [
            await events.record(
                db, row["instance_id"], "message", "updated", row["id"], row["contact_id"]
            )
        ]
    await runtime.bus.publish(published)
    runtime.media_wakeup.set()
    return row


class MediaFetcher:
    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime
        self.in_flight: set[asyncio.Task[None]] = set()
        self.http: httpx.AsyncClient | None = None

    @property
    def lease_seconds(self) -> float:
        settings = self.runtime.settings
        return (
            DOWNLOAD_TIMEOUT_SECONDS
            + settings.evolution_timeout_seconds * 2
            + settings.evolution_retry_seconds
            + 30
        )

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = self.runtime.media_wakeup
        failures = 0
        async with httpx.AsyncClient(
            timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True
        ) as http:
            self.http = http
            while not stop.is_set():
                wakeup.clear()
                free = CONCURRENCY - len(self.in_flight)
                if free <= 0:
                    await wait_any(stop, wakeup, timeout=IDLE_POLL_SECONDS)
                    continue
                idle: float | None = None
                try:
                    claimed = await media_db.claim_pending(
                        self.runtime.db, free, self.lease_seconds, self.runtime.liveness.worker_id
                    )
                    if not claimed:
                        idle = await media_db.seconds_until_due(self.runtime.db)
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("claiming media to fetch failed; retrying")
                    await wait_any(stop, timeout=min(2**failures, 30))
                    continue
                for message in claimed:
                    task = asyncio.create_task(self.fetch(message))
                    self.in_flight.add(task)
                    task.add_done_callback(self._done)
                if claimed:
                    continue
                await wait_any(
                    stop,
                    wakeup,
                    timeout=IDLE_POLL_SECONDS
                    if idle is None
                    else max(0.01, min(idle, IDLE_POLL_SECONDS)),
                )
            await self.drain()

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.runtime.media_wakeup.set()  # a slot is free

    async def drain(self, timeout: float = 10.0) -> None:
        """On shutdown: unfinished fetches are cancelled; their lease lets others retry."""
        await drain(self.in_flight, timeout)

    async def fetch(self, message: Row) -> None:
        db = self.runtime.db
        published: list[Publication] = []
        try:
            data, mime, name = await self._download(message)
            stored = await put(self.runtime, message, data, mime, name)
            async with db.transaction():
                row = await mark_ready(self.runtime, message, stored)
                if row is not None:
                    published.append(
                        await events.record(
                            db,
                            row["instance_id"],
                            "message",
                            "updated",
                            row["id"],
                            row["contact_id"],
                        )
                    )
            if row is None:
                await _discard_orphan(self.runtime, message, stored)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            reason = _reason(error)
            give_up = isinstance(error, Unavailable) or message["media_attempts"] >= MAX_ATTEMPTS
            log.info(
                "media of message %s %s: %s",
                message["id"],
                "unavailable" if give_up else "will be fetched again",
                reason,
            )
            try:
                async with db.transaction():
                    if give_up:
                        gone = await media_db.mark_unavailable(db, message["id"], reason)
                        if gone is not None:
                            published.append(
                                await events.record(
                                    db,
                                    gone["instance_id"],
                                    "message",
                                    "updated",
                                    gone["id"],
                                    gone["contact_id"],
                                )
                            )
                    else:
                        await media_db.retry_later(
                            db,
                            message["id"],
                            reason,
                            datetime.now(UTC) + retry_delay(message["media_attempts"]),
                        )
            except Exception:
                log.exception("could not record the media failure of message %s", message["id"])
        await self.runtime.bus.publish(published)

    async def _download(self, message: Row) -> tuple[bytes, str | None, str | None]:
        limit = self.runtime.settings.media_max_bytes
        problems: list[str] = []
        source = message["media_source_url"]
        if source:
            try:
                return await self._get(source, limit), None, None
            except Unavailable:
                raise
            except Exception as error:
                # Evolution's presigned URLs expire after days: fall back to Evolution itself.
                problems.append(f"Evolution's S3 copy: {_reason(error)}")
        if message["message_id"].startswith("local-"):
            raise RuntimeError("; ".join(problems) or "the message has not been sent yet")
        instance = await instances_db.get_instance(self.runtime.db, message["instance_id"])
        if instance is None:
            raise Unavailable("the WhatsApp number was removed")
        try:
            answer = await self.runtime.evolution.get_base64_from_media_message(
                instance["instance_name"],
                token_of(self.runtime, instance),
                {
                    "key": {
                        "id": message["message_id"],
                        "remoteJid": message["remote_jid"],
                        "fromMe": message["from_me"],
                    }
                },
            )
        except AppError as error:
            problems.append(f"Evolution API: {error.message}")
            raise RuntimeError("; ".join(problems)) from None
        encoded = answer.get("base64")
        if not isinstance(encoded, str) or not encoded:
            raise RuntimeError("Evolution API answered without the file")
        mime = answer.get("mimetype") if isinstance(answer.get("mimetype"), str) else None
        name = answer.get("fileName") if isinstance(answer.get("fileName"), str) else None
        if message["message_type"] != "document":
            name = None  # Evolution names other media after the message id: no information
        return _decode(encoded, limit), mime, name

    async def _get(self, url: str, limit: int) -> bytes:
        assert self.http is not None
        async with self.http.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise Unavailable(f"the file is larger than MEDIA_MAX_BYTES ({limit} bytes)")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise Unavailable(f"the file is larger than MEDIA_MAX_BYTES ({limit} bytes)")
        if not body:
            raise RuntimeError("the download was empty")
        return bytes(body)


def _reason(error: BaseException) -> str:
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, httpx.HTTPError):
        return f"{type(error).__name__}: {error}"[:300]
    text = str(error) or type(error).__name__
    return text[:1000]
