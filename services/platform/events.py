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
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from broadcaster import Broadcast, Event
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
        self._local: dict[str, set[Inbox]] = {}
        self._ready = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(inbox.listeners for queues in self._local.values() for inbox in queues)

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
                    # broadcaster 0.3 annotates Subscriber.__aiter__ as "... | None" and its
                    # items as optional; it yields Events only (None ends the iteration).
                    async for event in cast(AsyncIterator[Event], subscriber):
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
        for inbox in list(subscribers):
            decode = inbox.decode
            if decode not in decoded:
                decoded[decode] = decode(envelope["payload"])
            if not inbox.put(decoded[decode]) and inbox.dropped == 1:
                # A subscriber that stopped reading loses live events, and a resumable stream
                # refills the gap from the database when it catches up. Said once per episode:
                # a warning per dropped event was a fifth of a saturated server's CPU.
                log.warning(
                    "subscriber on %s falls behind: its live events are dropped until "
                    "it catches up",
                    envelope["channel"],
                )

    async def publish(self, publications: Iterable[Publication]) -> None:
        """Publish after commit. A failure is logged, not raised: the change is already stored
        and resuming subscribers recover it from the database."""
        for publication in publications:
            message = json.dumps(
                {"channel": publication.channel, "payload": publication.payload},
                separators=(",", ":"),
            )
            try:
                async with self._publish_lock:
                    await self.broadcast.publish(self.CHANNEL, message)
            except Exception:
                log.exception("could not publish on %s", publication.channel)

    def subscribe(self, channel: str, decode: Decoder = _as_is) -> Inbox:
        """`async with bus.subscribe(...) as messages: async for m in messages` — messages
        of a channel, as `decode` makes them from the published payload."""
        return Inbox(self._local, channel, decode, self.QUEUE_SIZE)


class Inbox:
    """One subscriber's pending messages. Lighter than an asyncio.Queue inside an async
    generator (a deque and at most one waiter): a number can have thousands of idle
    subscribers, and each one's memory counts (BENCHMARKS.md, memory part)."""

    __slots__ = (
        "_items",
        "_registry",
        "_size",
        "_waiter",
        "channel",
        "decode",
        "dropped",
        "listeners",
    )

    def __init__(
        self, registry: dict[str, set[Inbox]], channel: str, decode: Decoder, size: int
    ) -> None:
        self._registry = registry
        self.channel = channel
        self.decode = decode
        self._size = size
        self._items: deque[Any] | None = None  # made on the first message: most stay idle
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0  # since the subscriber last caught up
        # Subscribers it stands for (resolvers/live_fanout.py reads one for many of them).
        self.listeners = 1

    def put(self, item: Any) -> bool:
        """Queue an item; False (and counted) when the subscriber already has `size` waiting."""
        if self._items is None:
            self._items = deque()
        elif len(self._items) >= self._size:
            self.dropped += 1
            return False
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return True

    @property
    def pending(self) -> int:
        """Items queued and not yet read."""
        return len(self._items) if self._items else 0

    def attach(self) -> None:
        """Start receiving the channel's messages (what `async with` does on entry)."""
        self._registry.setdefault(self.channel, set()).add(self)

    def detach(self) -> None:
        """Stop receiving (what `async with` does on exit); safe to call twice."""
        subscribers = self._registry.get(self.channel)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self._registry[self.channel]

    async def __aenter__(self) -> Inbox:
        self.attach()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.detach()

    def __aiter__(self) -> Inbox:
        return self

    async def __anext__(self) -> Any:
        while not self._items:
            self.dropped = 0
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


async def record(
    db: Database,
    instance_id: uuid.UUID,
    topic: str,
    op: str,
    entity_id: uuid.UUID,
    contact_id: uuid.UUID | None = None,
) -> Publication:
    """Append to the instance's stream (inside the caller's transaction) and return what to
    publish once that transaction has committed."""
    seq = await events_db.append_event(db, instance_id, topic, op, entity_id, contact_id)
    return stream_publication(instance_id, seq, topic, op, entity_id, contact_id)


def stream_publication(
    instance_id: uuid.UUID,
    seq: int,
    topic: str,
    op: str,
    entity_id: uuid.UUID,
    contact_id: uuid.UUID | None,
) -> Publication:
    """What to publish for a stream event already appended (by `record`, or by a statement
    that appends several along with the rows they describe)."""
    return Publication(
        instance_channel(instance_id),
        {
            "seq": seq,
            "topic": topic,
            "op": op,
            "id": str(entity_id),
            "contact_id": str(contact_id) if contact_id else None,
        },
    )


def stream_event(payload: dict[str, Any]) -> StreamEvent:
    """The stream event a published payload describes."""
    return StreamEvent(
        seq=int(payload["seq"]),
        topic=payload["topic"],
        op=payload["op"],
        entity_id=uuid.UUID(payload["id"]),
        contact_id=uuid.UUID(payload["contact_id"]) if payload.get("contact_id") else None,
    )


def stream_event_of_row(row: Any) -> StreamEvent:
    return StreamEvent(
        int(row["seq"]), row["topic"], row["op"], row["entity_id"], row["contact_id"]
    )


async def events_between(
    db: Database, instance_id: uuid.UUID, after_seq: int, before_seq: int
) -> list[StreamEvent]:
    """The stored events of an instance with after_seq < seq < before_seq (a gap to fill)."""
    rows = await events_db.events_after(db, instance_id, after_seq, up_to=before_seq)
    return [stream_event_of_row(row) for row in rows]


class Handover(Protocol):
    """Who delivers a caught-up stream's live events in its stead (resolvers/live_fanout.py)."""

    def take(self, last: int) -> int | None:
        """Take the live events after `last` over (None); or, when the taker has already
        delivered events this stream has not seen, the seq to catch up to first."""

    async def run(self) -> None:
        """Deliver until the subscription ends."""


async def instance_stream(
    bus: EventBus,
    db: Database,
    instance_id: uuid.UUID,
    after_seq: int | None,
    handover: Handover | None = None,
) -> AsyncIterator[StreamEvent]:
    """Every change of an instance in sequence order: first those after `after_seq` from the
    database, then live ones; gaps in the live feed (a lost publish, another replica's event
    delivered late) are filled from the database, duplicates dropped.

    With a `handover`, once the stream has caught up (nothing queued), its live events are
    handed to it: the stream stops receiving in the same step, and ends when `run` returns."""
    async with bus.subscribe(instance_channel(instance_id), stream_event) as live:
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
                        yield stream_event_of_row(row)
                        last = int(row["seq"])
                    if not rows:
                        break
        while True:
            if handover is not None and not live.pending:
                behind = handover.take(last)
                if behind is None:
                    live.detach()
                    await handover.run()
                    return
                rows = await events_db.events_after(db, instance_id, last, up_to=behind + 1)
                for row in rows:
                    yield stream_event_of_row(row)
                    last = int(row["seq"])
                if not rows:
                    last = behind  # nothing stored in between (retention): nothing to catch up
                continue
            event = await anext(live)
            if event.seq <= last:
                continue
            if event.seq > last + 1:
                for row in await events_db.events_after(db, instance_id, last, up_to=event.seq):
                    yield stream_event_of_row(row)
            yield event
            last = event.seq
