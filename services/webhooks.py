"""Receiving Evolution API webhooks: authenticate, store raw, answer at once.

Evolution queues every later event of an instance behind a slow or failing answer and retries
5xx for ~20 minutes (CONTRACT §8.4), so the answer never waits for processing: the event is
written to `webhook_events` and a background processor applies it. 4xx answers are for what we
will never accept (Evolution does not retry them); 503 for "try again" (the database is down).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from db import instances as instances_db, webhook_events as events_db
from services.ingest import HANDLED_EVENTS
from services.instances import WEBHOOK_SECRET_HEADER
from services.metrics import WEBHOOKS_RECEIVED
from services.runtime import Runtime

log = logging.getLogger("atendimento.webhooks")

CACHE_SECONDS = 60.0
# Real payloads nest about 8 levels; a deeper body is not something Evolution sends.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    event: str = "unknown"


@dataclass(frozen=True)
class _Known:
    instance_id: uuid.UUID
    token: str
    secret: str
    expires: float


def event_suffix(event: str) -> str:
    """`messages.upsert` → `messages-upsert`, the path Evolution appends with byEvents."""
    return event.replace(".", "-").replace("_", "-").lower()


class WebhookReceiver:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._known: dict[str, _Known] = {}

    def forget(self, instance_name: str) -> None:
        self._known.pop(instance_name, None)

    async def _lookup(self, name: str) -> _Known | None:
        known = self._known.get(name)
        if known is not None and known.expires > time.monotonic():
            return known
        row = await instances_db.get_instance_by_name(self.runtime.db, name)
        if row is None:
            self._known.pop(name, None)
            return None
        vault = self.runtime.vault
        known = _Known(row["id"], vault.decrypt(row["instance_token"]), vault.webhook_secret(name),
                       time.monotonic() + CACHE_SECONDS)
        self._known[name] = known
        return known

    async def receive(
        self, headers: Mapping[str, str], body: bytes, suffix: str | None, source: str = ""
    ) -> Outcome:
        outcome = await self._receive(headers, body, suffix, source)
        # The event name comes from the caller: only known names become label values.
        label = outcome.event if outcome.event in HANDLED_EVENTS else "other"
        WEBHOOKS_RECEIVED.labels(label, str(outcome.status)).inc()
        return outcome

    async def _receive(
        self, headers: Mapping[str, str], body: bytes, suffix: str | None, source: str
    ) -> Outcome:
        if "json" not in headers.get("content-type", "").lower():
            return Outcome(415, {"error": "send the webhook as application/json"})
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return Outcome(400, {"error": "the body is not valid JSON"})
        if not isinstance(payload, dict):
            return Outcome(400, {"error": "the body must be a JSON object"})
        if _depth(payload) > MAX_DEPTH:
            return Outcome(400, {"error": f"the body nests deeper than {MAX_DEPTH} levels"})
        event, name = payload.get("event"), payload.get("instance")
        if not isinstance(event, str) or not isinstance(name, str):
            return Outcome(400, {"error": "the body needs string fields 'event' and 'instance'"})
        if suffix is not None and suffix != event_suffix(event):
            return Outcome(400, {"error": f"event {event!r} posted to /{suffix}"}, event)
        wait = self.runtime.webhook_limiter.take((source, name))
        if wait:
            # Evolution retries a 429: the flood is slowed down, nothing is lost.
            return Outcome(429, {"error": "too many webhooks", "retryAfter": round(wait, 3)},
                           event)

        try:
            known = await self._lookup(name)
        except Exception:
            log.exception("webhook lookup failed")
            return Outcome(503, {"error": "storage unavailable, deliver again later"}, event)
        if known is None:
            return Outcome(404, {"error": "unknown instance"}, event)
        vault = self.runtime.vault
        apikey = payload.get("apikey")
        if not vault.same(headers.get(WEBHOOK_SECRET_HEADER), known.secret) or (
            apikey is not None and not vault.same(str(apikey), known.token)
        ):
            log.warning("webhook for %s refused: bad credentials", name)
            return Outcome(401, {"error": "unauthorized"}, event)
        if event not in HANDLED_EVENTS:
            return Outcome(200, {"status": "ignored"}, event)

        digest = hashlib.sha256(body).hexdigest()
        try:
            stored = await events_db.insert_event(self.runtime.db, known.instance_id, event,
                                                  payload, digest)
        except asyncpg.ForeignKeyViolationError:
            self.forget(name)  # deleted since we cached it
            return Outcome(404, {"error": "unknown instance"}, event)
        except Exception:
            log.exception("webhook for %s not stored", name)
            return Outcome(503, {"error": "storage unavailable, deliver again later"}, event)
        if stored is None:
            return Outcome(200, {"status": "duplicate"}, event)
        self.runtime.webhook_wakeup.set()
        return Outcome(200, {"status": "accepted", "id": stored}, event)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest
