"""The outbox worker: sends PENDING messages through Evolution API.

At most one message per SEND_INTERVAL_SECONDS per instance (shared by every replica through the
instance row), oldest first, one in flight per instance, many instances in parallel. A
transient failure is retried with backoff; a permanent one (or the last attempt) marks the
message FAILED with the reason; `retryMessage` queues it again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from db import instances as instances_db, messages as messages_db, outbox as outbox_db
from db.sql import Row
from services.errors import EvolutionNotConfigured, EvolutionUnavailable
from services.instances.evolution import EvolutionApiError
from services.instances.lifecycle import token_of
from services.media.sending import SEND_MEDIA_TYPES
from services.messaging.message_status import from_evolution, next_status
from services.platform import events
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithLiveness,
    WithMedia,
    WithOutboxWakeup,
    WithSettings,
    WithVault,
)
from services.platform.metrics import MESSAGE_STATUS
from services.platform.waiting import drain, in_own_task, wait_any


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithMedia,
    WithLiveness,
    WithOutboxWakeup,
    Protocol,
): ...


log = logging.getLogger("atendimento.outbox")

CONCURRENCY = 32
IDLE_POLL_SECONDS = 1.0


class PermanentFailure(Exception):
    pass


GONE = "gone"  # the message was erased while it was being sent


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


def number_of(contact_jid: str) -> str:
    """What Evolution's `number` takes: digits for phone JIDs, the JID itself otherwise."""
    user, _, server = contact_jid.partition("@")
    return user if server == "s.whatsapp.net" else contact_jid


class OutboxWorker:
    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime
        self.in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(CONCURRENCY)

    @property
    def lease_seconds(self) -> float:
        settings = self.runtime.settings
        # Longer than one Evolution call with its retries can take, or a slow but alive send
        # would be claimed again by someone else.
        return settings.evolution_timeout_seconds * 2 + settings.evolution_retry_seconds + 10

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = self.runtime.outbox_wakeup
        failures = 0
        while not stop.is_set():
            wakeup.clear()
            await self._slots.acquire()
            try:
                claimed = await in_own_task(
                    outbox_db.claim_next(
                        self.runtime.db,
                        self.runtime.settings.send_interval_seconds,
                        self.lease_seconds,
                        self.runtime.liveness.worker_id,
                    )
                )
                if claimed is None:
                    idle = await in_own_task(outbox_db.seconds_until_due(self.runtime.db))
                failures = 0
            except Exception:
                self._slots.release()
                failures += 1
                log.exception("outbox claim failed; retrying")
                await wait_any(stop, wakeup, timeout=min(2**failures, 30))
                continue
            if claimed is not None:
                task = asyncio.create_task(self._deliver(claimed))
                self.in_flight.add(task)
                task.add_done_callback(self._done)
                continue
            self._slots.release()
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
        self._slots.release()

    async def drain(self, timeout: float = 15.0) -> None:
        """On shutdown: let sends in progress finish; what does not is released for others."""
        await drain(self.in_flight, timeout)

    async def _deliver(self, message: Row) -> None:
        db = self.runtime.db
        instance = None
        try:
            instance = await instances_db.get_instance(db, message["instance_id"])
            if instance is None:
                return
            answer = await self._send(instance, message)
        except asyncio.CancelledError:
            await outbox_db.release(db, message["id"])  # shutting down: someone else sends it
            raise
        except PermanentFailure as failure:
            status = await self._failed(message, str(failure), permanent=True)
        except EvolutionApiError as error:
            permanent = 400 <= error.status < 500 and error.status not in (408, 429)
            status = await self._failed(message, error.message, permanent=permanent)
        except (EvolutionNotConfigured, EvolutionUnavailable) as error:
            status = await self._failed(
                message, error.message, permanent=isinstance(error, EvolutionNotConfigured)
            )
        except Exception as error:
            log.exception("sending message %s failed", message["id"])
            status = await self._failed(
                message, f"{type(error).__name__}: {error}", permanent=False
            )
        else:
            status = await self._sent(message, answer)
        finally:
            await outbox_db.pace(
                db, message["instance_id"], self.runtime.settings.send_interval_seconds
            )
        if instance is not None and status not in ("pending", GONE):
            MESSAGE_STATUS.labels(instance["instance_name"], status).inc()

    async def _send(self, instance: Row, message: Row) -> dict[str, Any]:
        evolution = self.runtime.evolution
        name, token = instance["instance_name"], token_of(self.runtime, instance)
        number = number_of(message["remote_jid"])
        if message["message_type"] == "text":
            quoted = await self._quoted(message)
            return await evolution.send_text(
                name, token, number=number, text=message["text_content"], quoted=quoted
            )
        if message["message_type"] == "audio":
            upload = (message["metadata"] or {}).get("upload")
            if upload:
                data = await self.runtime.media.get(upload)
                if data is None:
                    raise PermanentFailure("the recorded audio is no longer available")
                audio = base64.b64encode(data).decode()
            else:
                audio = message["media_url"]
            return await evolution.send_whatsapp_audio(name, token, number=number, audio=audio)
        if message["message_type"] in SEND_MEDIA_TYPES:
            return await self._send_media(name, token, number, message)
        raise PermanentFailure(f"cannot send {message['message_type']} messages")

    async def _send_media(self, name: str, token: str, number: str, message: Row) -> dict[str, Any]:
        """IMAGE, DOCUMENT, VIDEO through sendMedia (§3.2): a URL as given, an upload as base64
        from the media store."""
        mimetype = None
        if message["media_url"]:
            media = message["media_url"]
        else:
            key = message["media_key"]
            data = await self.runtime.media.get(key) if key else None
            if data is None:
                raise PermanentFailure("the uploaded file is no longer available")
            media, mimetype = base64.b64encode(data).decode(), message["media_mime_type"]
        return await self.runtime.evolution.send_media(
            name,
            token,
            number=number,
            mediatype=message["message_type"],
            media=media,
            mimetype=mimetype,
            file_name=message["media_filename"],
            caption=message["text_content"],
            quoted=await self._quoted(message),
        )

    async def _quoted(self, message: Row) -> dict[str, Any] | None:
        if not message["quoted_message_id"]:
            return None
        original = await messages_db.lock_by_message_id(
            self.runtime.db, message["instance_id"], message["quoted_message_id"]
        )
        quoted: dict[str, Any] = {"key": {"id": message["quoted_message_id"]}}
        if original is not None and original["text_content"]:
            # With the text, Evolution needs no copy of the original in its own database.
            quoted["message"] = {"conversation": original["text_content"]}
        return quoted

    async def _sent(self, message: Row, answer: dict[str, Any]) -> str:
        db = self.runtime.db
        key = given if isinstance(given := answer.get("key"), dict) else {}
        wa_id = key.get("id") if isinstance(key.get("id"), str) else None
        async with db.transaction():
            status = "sent"
            changes: dict[str, Any] = {
                "claimed_until": None,
                "error": None,
                "next_attempt_at": None,
            }
            if wa_id:
                # If the `send.message` echo was stored first, ours takes its place and status.
                echo = await outbox_db.take_over_echo(
                    db, message["instance_id"], wa_id, message["id"]
                )
                if echo is not None:
                    status = next_status(status, echo["status"])
                receipt = await messages_db.take_receipt(db, message["instance_id"], wa_id)
                if receipt is not None and receipt["status"]:
                    status = next_status(status, receipt["status"])
                changes["message_id"] = wa_id
            else:
                log.warning(
                    "Evolution answered a send without key.id for message %s", message["id"]
                )
            answer_status = from_evolution(answer.get("status"))
            if answer_status and answer_status != "pending":
                status = next_status(status, answer_status)
            changes["status"] = next_status(message["status"], status)
            row, published = await self._update(message, changes)
        await self.runtime.bus.publish(published)
        return GONE if row is None else str(row["status"])

    async def _failed(self, message: Row, reason: str, permanent: bool) -> str:
        db = self.runtime.db
        give_up = permanent or message["attempts"] >= self.runtime.settings.send_max_attempts
        changes: dict[str, Any] = {"claimed_until": None, "error": reason[:1000]}
        if give_up:
            changes["status"] = "failed"
            changes["next_attempt_at"] = None
        else:
            changes["next_attempt_at"] = datetime.now(UTC) + retry_delay(message["attempts"])
        log.info("message %s %s: %s", message["id"], "failed" if give_up else "will retry", reason)
        async with db.transaction():
            row, published = await self._update(message, changes)
        await self.runtime.bus.publish(published)
        return GONE if row is None else str(row["status"])

    async def _update(self, message: Row, changes: dict[str, Any]) -> tuple[Row | None, list[Any]]:
        """Apply the changes and record the event, in the caller's transaction; None when the
        message is gone (its contact erased while it was being sent)."""
        db = self.runtime.db
        row = await messages_db.update_message(db, message["id"], **changes)
        if row is None:
            return None, []
        return row, [
            await events.record(
                db, row["instance_id"], "message", "updated", row["id"], row["contact_id"]
            )
        ]
