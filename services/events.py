"""Live events: what is published after a commit, on which channel, and how subscribers read it.

Payloads are small JSON objects carrying ids and the sequence number; subscribers reload the
entity from the database, so a payload never exceeds PostgreSQL's NOTIFY limit and never shows
uncommitted or stale data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from broadcaster import Broadcast
from databases import Database

from db import events as events_db

log = logging.getLogger("atendimento.events")

INSTANCES_CHANNEL = "instances"


def instance_channel(instance_id: uuid.UUID | str) -> str:
    return f"instance:{instance_id}"


@dataclass(frozen=True)
class Publication:
    channel: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class StreamEvent:
    """One entry of an instance's ordered stream; `topic` None means "reload everything"."""

    seq: int
    topic: str | None
    op: str
    entity_id: uuid.UUID | None
    contact_id: uuid.UUID | None


Decoder = Callable[[dict[str, Any]], Any]


def _as_is(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


class EventBus:
    """Fan-out of live events to this process's subscribers, over one broadcaster channel.

    The process subscribes to the backend once, at start, and dispatches to local queues
    itself: broadcaster's own per-channel bookkeeping loses a subscriber when two subscribe to
    a channel at the same moment, and its PostgreSQL backend shares one connection for LISTEN
    and NOTIFY (safe here because LISTEN happens once and publishes are serialised).
    """

    CHANNEL = "atendimento"
    QUEUE_SIZE = 1000

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self._publish_lock = asyncio.Lock()
        self._local: dict[str, dict[asyncio.Queue[Any], Decoder]] = {}
        self._ready = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(queues) for queues in self._local.values())

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run(), name="event-bus")
        await asyncio.wait_for(self._ready.wait(), 30)

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with self.broadcast.subscribe(self.CHANNEL) as subscriber:
                    self._ready.set()
                    delay = 0.5
                    async for event in subscriber:
                        self._dispatch(event.message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live event feed interrupted; reconnecting in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)

    def _dispatch(self, message: str) -> None:
        envelope = json.loads(message)
        subscribers = self._local.get(envelope["channel"])
        if not subscribers:
            return
        # Decoded once per decoder, not once per subscriber: one event can have hundreds.
        decoded: dict[Decoder, Any] = {}
        for queue, decode in list(subscribers.items()):
            if decode not in decoded:
                decoded[decode] = decode(envelope["payload"])
            try:
                queue.put_nowait(decoded[decode])
            except asyncio.QueueFull:
                # A subscriber that stopped reading: it loses live events, and a resumable
                # stream refills the gap from the database when it catches up.
                log.warning("subscriber queue full on %s; event dropped", envelope["channel"])

    async def publish(self, publications: Iterable[Publication]) -> None:
        """Publish after commit. A failure is logged, not raised: the change is already stored
        and resuming subscribers recover it from the database."""
        for publication in publications:
            message = json.dumps({"channel": publication.channel, "payload": publication.payload},
                                 separators=(",", ":"))
            try:
                async with self._publish_lock:
                    await self.broadcast.publish(self.CHANNEL, message)
            except Exception:
                log.exception("could not publish on %s", publication.channel)

    @asynccontextmanager
    async def subscribe(self, channel: str, decode: Decoder = _as_is
                        ) -> AsyncIterator[AsyncIterator[Any]]:
        """Messages of a channel, as `decode` makes them from the published payload."""
        queue: asyncio.Queue[Any] = asyncio.Queue(self.QUEUE_SIZE)
        self._local.setdefault(channel, {})[queue] = decode

        async def messages() -> AsyncIterator[Any]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            subscribers = self._local.get(channel)
            if subscribers is not None:
                subscribers.pop(queue, None)
                if not subscribers:
                    del self._local[channel]


async def record(
    db: Database, instance_id: uuid.UUID, topic: str, op: str, entity_id: uuid.UUID,
    contact_id: uuid.UUID | None = None,
) -> Publication:
    """Append to the instance's stream (inside the caller's transaction) and return what to
    publish once that transaction has committed."""
    seq = await events_db.append_event(db, instance_id, topic, op, entity_id, contact_id)
    return Publication(
        instance_channel(instance_id),
        {"seq": seq, "topic": topic, "op": op, "id": str(entity_id),
         "contact_id": str(contact_id) if contact_id else None},
    )


def _from_payload(payload: dict[str, Any]) -> StreamEvent:
    return StreamEvent(
        seq=int(payload["seq"]), topic=payload["topic"], op=payload["op"],
        entity_id=uuid.UUID(payload["id"]),
        contact_id=uuid.UUID(payload["contact_id"]) if payload.get("contact_id") else None,
    )


def _from_row(row: Any) -> StreamEvent:
    return StreamEvent(int(row["seq"]), row["topic"], row["op"], row["entity_id"], row["contact_id"])


async def instance_stream(
    bus: EventBus, db: Database, instance_id: uuid.UUID, after_seq: int | None
) -> AsyncIterator[StreamEvent]:
    """Every change of an instance in sequence order: first those after `after_seq` from the
    database, then live ones; gaps in the live feed (a lost publish, another replica's event
    delivered late) are filled from the database, duplicates dropped."""
    async with bus.subscribe(instance_channel(instance_id), _from_payload) as live:
        # Subscribed first, read the database second: anything committed in between arrives
        # live and is dropped as a duplicate, so nothing falls between the two.
        bounds = await events_db.stream_bounds(db, instance_id)
        if bounds is None:
            return
        current, oldest = bounds
        last = current if after_seq is None else after_seq
        if after_seq is not None and after_seq != current:
            # Too old for what is retained, or from a stream we never produced (a restored
            # database): the client must reload rather than trust a partial replay.
            if after_seq > current or oldest is None or after_seq < oldest - 1:
                yield StreamEvent(current, None, "reload", None, None)
                last = current
            else:
                while True:
                    rows = await events_db.events_after(db, instance_id, last)
                    for row in rows:
                        yield _from_row(row)
                        last = int(row["seq"])
                    if not rows:
                        break
        async for event in live:
            if event.seq <= last:
                continue
            if event.seq > last + 1:
                for row in await events_db.events_after(db, instance_id, last, up_to=event.seq):
                    yield _from_row(row)
            yield event
            last = event.seq
