"""Receiving Evolution API webhooks: authenticate, store raw, answer at once.

Evolution queues every later event of an instance behind a slow or failing answer and retries
5xx for ~20 minutes (CONTRACT §8.4), so the answer never waits for processing: the event is
written to `webhook_events` and a background processor applies it. What we will never accept
gets an answer from Evolution's no-retry list (400, 401, 403, 404, 422); 429 and 503 mean "try
again" (Evolution retries everything else, up to 10 times, 5 s to 300 s apart).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from cachetools import TTLCache
from databases import Database

from db import instances as instances_db, webhook_events as events_db
from services.instances.lifecycle import WEBHOOK_SECRET_HEADER
from services.messaging import presence
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithPresenceWatch,
    WithSettings,
    WithSpawn,
    WithVault,
    WithWebhookLimiter,
    WithWebhookWakeup,
)
from services.platform.metrics import WEBHOOKS_RECEIVED
from services.platform.waiting import in_own_task
from services.webhooks import envelope
from services.webhooks.clean_text import clean_json, may_need_cleaning
from services.webhooks.ingest import HANDLED_EVENTS


class Uses(
    WithDatabase,
    WithBus,
    WithEvolution,
    WithSettings,
    WithVault,
    WithSpawn,
    WithWebhookWakeup,
    WithWebhookLimiter,
    WithPresenceWatch,
    Protocol,
): ...


log = logging.getLogger("atendimento.webhooks")

CACHE_SECONDS = 60.0
UNKNOWN_CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    event: str = "unknown"


@dataclass(frozen=True)
class KnownInstance:
    instance_id: uuid.UUID
    token: str


def event_suffix(event: str) -> str:
    """`messages.upsert` → `messages-upsert`, the path Evolution appends with byEvents."""
    return event.replace(".", "-").replace("_", "-").lower()


@dataclass
class _Pending:
    instance_id: uuid.UUID
    event: str
    payload: dict[str, Any]
    body: bytes
    sha: str
    answer: asyncio.Future[int | None]

    def json_text(self) -> str:
        """The payload as PostgreSQL will parse it: the body itself when it is plain UTF-8
        (no second serialisation), else the parsed value written again."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return json.dumps(self.payload)
        # json.loads also takes a BOM or UTF-16/32; jsonb does not.
        return text if text.lstrip(" \t\r\n").startswith("{") else json.dumps(self.payload)


class EventWriter:
    """Stores webhook events, the ones that arrive together in one INSERT (one commit).

    Nothing waits on a timer: the first event is written at once, and those that arrive
    while a write is under way go together in the next one. Each caller gets its own answer
    (the id, or None for a redelivery) only once its row is committed.
    """

    MAX_ROWS = 100
    MAX_BYTES = 4 * 1024 * 1024

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(
        self, instance_id: uuid.UUID, event: str, payload: dict[str, Any], body: bytes, sha: str
    ) -> int | None:
        """Store one event; its id, or None when the same body was already stored."""
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(instance_id, event, payload, body, sha, answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queued())
        return await answer

    async def _write_queued(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._queue:
                size, count = 0, 0
                for pending in self._queue[: self.MAX_ROWS]:
                    size += len(pending.body)
                    count += 1
                    if size >= self.MAX_BYTES:
                        break
                batch, self._queue = self._queue[:count], self._queue[count:]
                # A task per write: `databases` ties a connection to a task, and one broken by
                # an outage must not be the one the next write uses.
                await in_own_task(self._write(batch))
        except BaseException as error:
            # Stopped (shutdown) or a bug: nobody may wait for an answer that never comes.
            failure = error if isinstance(error, Exception) else None
            if failure is not None:
                log.exception("webhook writer failed")
            for pending in batch + self._queue:
                _answer(pending, error=failure, cancel=failure is None)
            self._queue = []
            if failure is None:
                raise
        finally:
            self._writer = None

    async def _write(self, batch: list[_Pending]) -> None:
        first: dict[tuple[uuid.UUID, str], _Pending] = {}
        for pending in batch:
            first.setdefault((pending.instance_id, pending.sha), pending)
        try:
            stored = await events_db.insert_events(
                self.db, [(p.instance_id, p.event, p.json_text(), p.sha) for p in first.values()]
            )
        except asyncpg.PostgresError:
            # One row PostgreSQL refuses (its instance deleted meanwhile, a payload jsonb does
            # not take) must not fail the others: each is written alone, with its own answer.
            for pending in batch:
                await self._write_alone(pending)
            return
        except Exception as error:
            for pending in batch:
                _answer(pending, error=error)
            return
        for key, pending in first.items():
            _answer(pending, stored.get(key))
        for pending in batch:
            _answer(pending, None)  # a later copy of a body in this batch: a redelivery

    async def _write_alone(self, pending: _Pending) -> None:
        try:
            stored = await events_db.insert_event(
                self.db, pending.instance_id, pending.event, pending.payload, pending.sha
            )
        except Exception as error:
            _answer(pending, error=error)
        else:
            _answer(pending, stored)


def _answer(
    pending: _Pending,
    stored: int | None = None,
    error: Exception | None = None,
    cancel: bool = False,
) -> None:
    if pending.answer.done():  # answered already, or its request went away
        return
    if cancel:
        pending.answer.cancel()
    elif error is not None:
        pending.answer.set_exception(error)
    else:
        pending.answer.set_result(stored)


class WebhookReceiver:
    """Authenticates a delivery from its headers and its instance name alone, then accepts
    its body. The HTTP side (resolvers/webhook_route.py) reads no body before `authenticate`
    said yes."""

    def __init__(self, runtime: Uses) -> None:
        self.runtime = runtime
        self._known: TTLCache[str, KnownInstance] = TTLCache(maxsize=CACHE_SIZE, ttl=CACHE_SECONDS)
        # A deleted instance's trailing deliveries (Evolution sends a few) and retries of them
        # cost one lookup per UNKNOWN_CACHE_SECONDS, not one each.
        self._unknown: TTLCache[str, bool] = TTLCache(maxsize=CACHE_SIZE, ttl=UNKNOWN_CACHE_SECONDS)
        self.writer = EventWriter(runtime.db)

    def forget(self, instance_name: str) -> None:
        self._known.pop(instance_name, None)
        self._unknown.pop(instance_name, None)

    async def _lookup(self, name: str) -> KnownInstance | None:
        known = self._known.get(name)
        if known is not None:
            return known
        if name in self._unknown:
            return None
        row = await instances_db.get_instance_by_name(self.runtime.db, name)
        if row is None:
            self._unknown[name] = True
            return None
        known = KnownInstance(row["id"], self.runtime.vault.decrypt(row["instance_token"]))
        self._known[name] = known
        return known

    async def authenticate(self, name: str, headers: Mapping[str, str]) -> KnownInstance | Outcome:
        """The instance a delivery claims to be from, if its secret header proves it.

        The secret is derived from the name, so a wrong one is refused before any lookup:
        made-up names cost an HMAC, never a database query."""
        vault = self.runtime.vault
        if not vault.same(headers.get(WEBHOOK_SECRET_HEADER), vault.webhook_secret(name)):
            log.warning("webhook refused: bad secret")
            return Outcome(401, {"error": "unauthorized"})
        try:
            known = await self._lookup(name)
        except Exception:
            log.exception("webhook lookup failed")
            return Outcome(503, {"error": "storage unavailable, deliver again later"})
        if known is None:
            return _deleted()
        wait = self.runtime.webhook_limiter.take(known.instance_id)
        if wait:
            # Evolution retries a 429: the flood is slowed down, nothing is lost.
            return Outcome(429, {"error": "too many webhooks", "retryAfter": round(wait, 3)})
        return known

    async def accept(
        self,
        known: KnownInstance,
        name: str,
        headers: Mapping[str, str],
        body: bytes,
        suffix: str | None,
        payload: dict[str, Any] | None = None,
    ) -> Outcome:
        """Store an authenticated delivery (`payload` when the body was parsed already)."""
        if payload is None:
            try:
                payload = await envelope.parse(body)
            except envelope.BadBody as error:
                return Outcome(400, {"error": str(error)})
        event = payload["event"]
        if payload["instance"] != name:
            return Outcome(400, {"error": "the body names another instance"}, event)
        if suffix is not None and suffix != event_suffix(event):
            return Outcome(400, {"error": f"event {event!r} posted to /{suffix}"}, event)
        apikey = payload.get("apikey")
        if apikey is not None and not self.runtime.vault.same(str(apikey), known.token):
            log.warning("webhook for %s refused: bad apikey", name)
            return Outcome(401, {"error": "unauthorized"}, event)
        if event == presence.EVENT:
            return await _presence(self.runtime, known, payload, event)
        if event not in HANDLED_EVENTS:
            return Outcome(200, {"status": "ignored"}, event)

        digest = hashlib.sha256(body).hexdigest()  # of the body as sent: redeliveries match
        if may_need_cleaning(body):
            # Text PostgreSQL refuses (NUL, lone surrogates) would fail every delivery.
            cleaned = clean_json(payload)
            if cleaned != payload:
                payload, body = cleaned, json.dumps(cleaned, ensure_ascii=False).encode()
        try:
            stored = await self.writer.store(known.instance_id, event, payload, body, digest)
        except asyncpg.ForeignKeyViolationError:
            self.forget(name)  # deleted since we cached it
            return _deleted(event)
        except (asyncpg.DataError, asyncpg.ProgramLimitExceededError) as error:
            # A value jsonb refuses (a number beyond numeric's range…): no delivery ever stores
            # it, so it is answered with a code Evolution does not retry.
            log.warning("webhook for %s refused: %s", name, type(error).__name__)
            return Outcome(422, {"error": "the body holds a value that cannot be stored"}, event)
        except Exception:
            log.exception("webhook for %s not stored", name)
            return Outcome(503, {"error": "storage unavailable, deliver again later"}, event)
        if stored is None:
            return Outcome(200, {"status": "duplicate"}, event)
        self.runtime.webhook_wakeup.set()
        return Outcome(200, {"status": "accepted", "id": stored}, event)


async def _presence(
    runtime: Uses, known: KnownInstance, payload: dict[str, Any], event: str
) -> Outcome:
    """A presence (typing…) is ephemeral: published at once to the number's subscribers,
    never written to the event log; one that cannot be published is not worth a retry."""
    try:
        published = await presence.receive(runtime, known.instance_id, payload.get("data"))
    except Exception as error:
        log.warning("presence not published: %s", type(error).__name__)
        published = False
    return Outcome(200, {"status": "accepted" if published else "ignored"}, event)


def _deleted(event: str = "unknown") -> Outcome:
    """The answer for an instance we no longer have whose secret was right: it was one of
    ours, deleted. What Evolution posts after a delete (`remove.instance`, a last
    `connection.update`) is answered 200 so Evolution logs no failure for our own deletion;
    nothing is stored."""
    return Outcome(200, {"status": "ignored"}, event)


def count(outcome: Outcome) -> Outcome:
    """Counts a delivery's answer in the metrics."""
    # The event name comes from the caller: only known names become label values.
    known = outcome.event in HANDLED_EVENTS or outcome.event == presence.EVENT
    label = outcome.event if known else "other"
    WEBHOOKS_RECEIVED.labels(label, str(outcome.status)).inc()
    return outcome
