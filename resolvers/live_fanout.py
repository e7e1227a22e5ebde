"""Live fan-out (LIVE_FANOUT=direct): a number's live events delivered to its websocket
subscribers as ready frames, instead of through one Strawberry stream per subscriber.

Through Strawberry, every copy of an event costs a wake-up of the subscriber's generators, a
per-event execution context, the extensions' hooks, a `next` message and its JSON, and the
websocket send: about 200 µs of CPU per copy (BENCHMARKS.md, live part). Here, per event of a
number, one task loads the entity once, executes each distinct (document, variables, viewer
when the selection asks for a per-viewer field) once, encodes the `next` payload once, and
writes the frame text, with the operation id spliced in, to each socket.

Strawberry's graphql-transport-ws handler still does everything else: `connection_init`,
authentication, validation, the subscription's start (membership check, `afterSeq` replay,
pre-execution errors), `complete` and the close at token expiry. A subscription is handed over
here only once its stream has caught up (services/platform/events.py, `Handover`), and hands
back by ending: its generator returns (Strawberry sends `complete`) or raises (Strawberry sends
the error), after every frame queued for it has been written. The per-event rules of the stock
stream hold per subscriber: an event whose delivery finds the membership check due or the
token expired is held while the subscriber's own task checks, as the stock stream does before
that event, and is sent or the subscription ends.

A frame is written at once while the socket's send does not wait; once a send waits, that
socket's frames queue (bounded) for a task of its own, so a socket that does not take its
frames holds up nobody else. A socket more than SOCKET_QUEUE_FRAMES frames behind
is closed with 1013 (Try Again Later): the client reconnects and resumes with `afterSeq`, so
nothing is lost silently.

Only messageEvents and contactEvents over graphql-transport-ws come here; the legacy graphql-ws
protocol, SSE and multipart streams, and the other subscriptions, keep the stock path.

What it reads of Strawberry beyond its documented API is kept here: the graphql-core schema
(`Schema._schema`) and execution context class it executes with, and the handler's
`operations` map that tells whether an operation id is still live. Strawberry's per-result
extension hooks do not run for these frames: the schema's only one, ErrorCodes, is applied as
`with_code`, and a schema extension with a `resolve` hook makes LiveFanout refuse to start.
tests/subscriptions/test_live_fanout.py compares the frames of both paths.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from inspect import isawaitable
from typing import Any

from databases import Database
from graphql import DocumentNode, GraphQLError, execute, parse
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.schema import BaseSchema, Schema

from resolvers.context import Context, Info
from resolvers.errors import with_code
from schema.executor import operation_per_viewer
from services.identity.access import MembershipWatch
from services.platform.events import (
    EventBus,
    Inbox,
    StreamEvent,
    events_between,
    instance_channel,
    stream_event,
)
from services.platform.shared_loads import SharedLoads

log = logging.getLogger("atendimento.live")

SOCKET_QUEUE_FRAMES = 1000
SLOW_SOCKET_CODE = 1013
SLOW_SOCKET_REASON = "Too far behind: reconnect and resume with afterSeq"
DOCUMENTS_KEPT = 256

# What an event needs to become a payload: None for an event this subscriber does not get;
# otherwise how to build it (shared by every subscriber of the same event).
Build = Callable[[Database, StreamEvent], Awaitable[Any]]
Select = Callable[[StreamEvent], Build | None]


@dataclass(slots=True)
class SocketOperation:
    """The graphql-transport-ws operation being started, as its task sees it."""

    fanout: LiveFanout
    handler: Any  # strawberry's BaseGraphQLTransportWSHandler
    id: str
    query: str
    variables: Mapping[str, Any] | None
    operation_name: str | None
    operation: object = None  # the handler's Operation, once registered

    def live(self) -> bool:
        """Whether the handler still runs this operation (not completed nor cleaned up)."""
        operations = self.handler.operations
        return self.operation is not None and operations.get(self.id) is self.operation


_OPERATION: contextvars.ContextVar[SocketOperation | None] = contextvars.ContextVar(
    "live_fanout_operation", default=None
)


@contextmanager
def starting(fanout: LiveFanout | None, handler: Any, message: Mapping[str, Any]) -> Iterator[None]:
    """Around the handler's `handle_subscribe`: the operation task it creates inherits the
    operation, and the resolver can hand its live events over (see `handover`)."""
    payload = message.get("payload")
    if fanout is None or not isinstance(payload, Mapping) or "id" not in message:
        yield
        return
    variables = payload.get("variables")
    current = SocketOperation(
        fanout,
        handler,
        message["id"],
        payload.get("query"),  # type: ignore[arg-type]
        variables if isinstance(variables, Mapping) else None,
        payload.get("operationName"),
    )
    token = _OPERATION.set(current)
    try:
        yield
    finally:
        _OPERATION.reset(token)
    current.operation = handler.operations.get(current.id)


def handover(
    info: Info, instance_id: uuid.UUID, membership: MembershipWatch, select: Select
) -> Delivery | None:
    """The direct delivery of this subscription's live events, when it runs over
    graphql-transport-ws with LIVE_FANOUT=direct; None otherwise (the stock stream)."""
    current = _OPERATION.get()
    context = info.context
    if current is None or not isinstance(context.request, WebSocket) or not current.query:
        return None
    return current.fanout.delivery(current, context, instance_id, membership, select)


class LiveFanout:
    """The process's direct deliveries, by number."""

    def __init__(self, schema: BaseSchema, db: Database, bus: EventBus, loads: SharedLoads) -> None:
        if not isinstance(schema, Schema):
            raise TypeError("LIVE_FANOUT=direct executes with a strawberry.Schema")
        hooked = [
            type(e).__name__
            for e in schema.get_extensions()
            if isinstance(e, SchemaExtension) and type(e).resolve is not SchemaExtension.resolve
        ]
        if hooked:
            # A resolver middleware must see every field; this path would skip it.
            raise ValueError(f"LIVE_FANOUT=direct cannot run with resolve hooks: {hooked}")
        self.schema = schema
        self.graphql_schema = schema._schema
        self.executor_class = schema.execution_context_class
        self.db, self.bus, self.loads = db, bus, loads
        self.channels: dict[uuid.UUID, Channel] = {}
        self._documents: dict[tuple[str, str | None], tuple[DocumentNode, bool]] = {}

    def delivery(
        self,
        current: SocketOperation,
        context: Context,
        instance_id: uuid.UUID,
        membership: MembershipWatch,
        select: Select,
    ) -> Delivery:
        document, per_viewer = self._document(current.query, current.operation_name)
        variables = json.dumps(current.variables, sort_keys=True, default=str)
        viewer = context.shared_result_key(per_viewer)
        key = (current.query, current.operation_name, variables, viewer)
        return Delivery(self, current, context, instance_id, membership, select, document, key)

    def _document(self, query: str, name: str | None) -> tuple[DocumentNode, bool]:
        # Strawberry parsed and validated the same text before the resolver ran.
        known = self._documents.get((query, name))
        if known is None:
            document = parse(query)
            known = (document, operation_per_viewer(self.graphql_schema, document, name))
            if len(self._documents) >= DOCUMENTS_KEPT:
                self._documents.pop(next(iter(self._documents)))
            self._documents[(query, name)] = known
        return known

    def channel(self, instance_id: uuid.UUID) -> Channel:
        channel = self.channels.get(instance_id)
        if channel is None:
            channel = self.channels[instance_id] = Channel(self, instance_id)
        return channel

    async def execute(self, delivery: Delivery, payload: Any) -> str:
        """The `payload` member of a `next` message, as JSON, as Strawberry would send it."""
        delivery.context.fresh_loaders()  # as the stock stream does before each event
        result = execute(
            self.graphql_schema,
            delivery.document,
            root_value=payload,
            context_value=delivery.context,
            variable_values=delivery.operation.variables,  # type: ignore[arg-type]
            operation_name=delivery.operation.operation_name,
            executor_class=self.executor_class,
        )
        if isawaitable(result):
            result = await result
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            errors: list[GraphQLError] = list(result.errors)
            self.schema.process_errors(errors)
            response["errors"] = [with_code(e).formatted for e in errors]
        return json.dumps(response, separators=(",", ":"))


class Delivery:
    """One subscription's live events, delivered by its number's channel."""

    __slots__ = (
        "channel",
        "context",
        "document",
        "error",
        "fanout",
        "held",
        "instance_id",
        "key",
        "last",
        "membership",
        "operation",
        "prefix",
        "select",
        "sink",
        "waiter",
    )

    def __init__(
        self,
        fanout: LiveFanout,
        operation: SocketOperation,
        context: Context,
        instance_id: uuid.UUID,
        membership: MembershipWatch,
        select: Select,
        document: DocumentNode,
        key: Hashable,
    ) -> None:
        self.fanout, self.operation, self.context = fanout, operation, context
        self.instance_id, self.membership, self.select = instance_id, membership, select
        self.document, self.key = document, key
        self.prefix = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'
        assert isinstance(context.request, WebSocket)
        if not isinstance(context.live_sink, Sink):  # one per socket: its context's
            context.live_sink = Sink(context.request)
        self.sink: Sink = context.live_sink
        self.channel: Channel | None = None
        self.last = 0
        self.held: list[str] | None = None  # frames waiting for this subscriber's own checks
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None

    def take(self, last: int) -> int | None:
        channel = self.fanout.channel(self.instance_id)
        if channel.last is not None and last < channel.last:
            return channel.last  # the channel delivered events this stream has not seen
        self.last = last
        channel.add(self)
        self.channel = channel
        return None

    async def run(self) -> None:
        try:
            while True:
                if self.error is None and not self.held:
                    self.waiter = asyncio.get_running_loop().create_future()
                    await self.waiter
                if self.error is not None:
                    await self.sink.drained()
                    raise self.error
                if self.held:
                    # The stock stream's checks before an event, in the same order; frames
                    # arriving meanwhile join the held ones.
                    if not await self.membership.still_allowed() or self.context.token_expired():
                        await self.sink.drained()
                        return
                    frames, self.held = self.held, None
                    for frame in frames:
                        self.sink.send(frame)
        finally:
            self.waiter = None
            if self.channel is not None:
                self.channel.remove(self)
                # Ended: a frame the channel is still making for it must not follow (a member
                # just removed gets nothing more).
                self.channel = None

    def deliver(self, payload_json: str) -> None:
        if self.channel is None or not self.operation.live():
            return
        frame = f"{self.prefix}{payload_json}}}"
        if self.held is not None:
            self.held.append(frame)
        elif self.membership.due() or self.context.token_expired():
            self.held = [frame]
            self._wake()
        else:
            self.sink.send(frame)

    def fail(self, error: BaseException) -> None:
        self.error = error
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Channel:
    """A number's live events, in order, for its direct deliveries: one task, gaps filled
    from the database as the stock stream fills them."""

    def __init__(self, fanout: LiveFanout, instance_id: uuid.UUID) -> None:
        self.fanout, self.instance_id = fanout, instance_id
        self.deliveries: dict[Delivery, None] = {}  # in subscription order
        self.last: int | None = None
        self.inbox: Inbox = fanout.bus.subscribe(instance_channel(instance_id), stream_event)
        self.inbox.listeners = 0  # counted as its deliveries (live subscribers)
        self.inbox.attach()
        # A context of its own: not the subscriber's whose handover made the channel.
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"live-fanout {instance_id}", context=contextvars.Context()
        )

    def add(self, delivery: Delivery) -> None:
        if self.last is None:
            self.last = delivery.last
        self.deliveries[delivery] = None
        self.inbox.listeners = len(self.deliveries)

    def remove(self, delivery: Delivery) -> None:
        self.deliveries.pop(delivery, None)
        self.inbox.listeners = len(self.deliveries)
        if not self.deliveries and self.fanout.channels.get(self.instance_id) is self:
            del self.fanout.channels[self.instance_id]
            self.inbox.detach()
            self.task.cancel()

    async def _run(self) -> None:
        try:
            await self._follow()
        except Exception as error:
            # Its subscriptions end with the error (their clients resubscribe with afterSeq);
            # new ones get a channel of their own.
            log.exception("live fan-out of %s stopped", self.instance_id)
            if self.fanout.channels.get(self.instance_id) is self:
                del self.fanout.channels[self.instance_id]
            self.inbox.detach()
            self._fail_all(error)

    async def _follow(self) -> None:
        async for event in self.inbox:
            last = self.last
            assert last is not None  # set by the first delivery, before any event is read
            if event.seq <= last:
                continue
            if event.seq > last + 1:
                try:
                    missed = await events_between(self.fanout.db, self.instance_id, last, event.seq)
                except Exception as error:
                    self._fail_all(error)
                    continue
                for earlier in missed:
                    await self._deliver(earlier)
            await self._deliver(event)

    def _fail_all(self, error: BaseException) -> None:
        for delivery in list(self.deliveries):
            delivery.fail(error)

    async def _deliver(self, event: StreamEvent) -> None:
        self.last = event.seq
        wanted: dict[Build, list[Delivery]] = {}
        # Subscriptions of the same kind share their select (most of a number's subscribers).
        selected: dict[Select, Build | None] = {}
        for delivery in list(self.deliveries):
            if event.seq <= delivery.last:
                continue  # delivered by its own stream before the handover
            delivery.last = event.seq
            select = delivery.select
            if select in selected:
                build = selected[select]
            else:
                build = selected[select] = select(event)
            if build is not None:
                wanted.setdefault(build, []).append(delivery)
        fanout = self.fanout
        for build, deliveries in wanted.items():
            try:
                payload = await fanout.loads.get(
                    (event.topic, event.entity_id, event.seq),
                    lambda build=build: build(fanout.db, event),  # type: ignore[misc]
                )
            except Exception as error:
                for delivery in deliveries:
                    delivery.fail(error)
                continue
            if payload is None:
                continue
            encoded: dict[Hashable, str | BaseException] = {}
            for delivery in deliveries:
                if delivery.key not in encoded:
                    try:
                        encoded[delivery.key] = await fanout.execute(delivery, payload)
                    except Exception as error:
                        encoded[delivery.key] = error
                text = encoded[delivery.key]
                if isinstance(text, BaseException):
                    delivery.fail(text)
                else:
                    delivery.deliver(text)


@dataclass(eq=False, slots=True)
class Sink:
    """One socket's frames, in order: written at once while its sends do not wait, else queued
    for a task of its own."""

    websocket: WebSocket
    frames: deque[str] | None = None  # made on the first frame: most subscribers are idle
    writer: asyncio.Task[None] | None = None
    closed: bool = False

    def send(self, frame: str) -> None:
        if self.closed:
            return
        if self.writer is None:
            # Nothing queued: written at once, in the caller's task, as far as the send goes
            # without waiting (uvicorn's never waits: it leaves the bytes to the transport).
            # A task per frame was a tenth of the CPU of a copy (BENCHMARKS.md).
            sending = self.websocket.send_text(frame)
            try:
                waiting = sending.send(None)
            except StopIteration:
                return
            except Exception:
                self._forget()  # the socket is gone; its handler ends its operations
                return
            # It waits (backpressure): its own task finishes it, and writes what queues meanwhile.
            self.writer = asyncio.get_running_loop().create_task(
                self._write(_Rest(sending, waiting)), context=contextvars.Context()
            )
            return
        if self.frames is None:
            self.frames = deque()
        elif len(self.frames) >= SOCKET_QUEUE_FRAMES:
            self._close_slow()
            return
        self.frames.append(frame)

    async def drained(self) -> None:
        """Wait until every frame queued so far is written (or the socket is gone)."""
        while self.writer is not None and not self.closed:
            await asyncio.wait([self.writer])

    async def _write(self, started: _Rest) -> None:
        try:
            await started
            while self.frames:
                await self.websocket.send_text(self.frames.popleft())
        except Exception:
            # The socket is gone: its handler ends its operations, and with them the deliveries.
            self._forget()
        finally:
            self.writer = None

    def _close_slow(self) -> None:
        log.warning("a live subscriber's socket fell %d frames behind: closed", SOCKET_QUEUE_FRAMES)
        self._forget()
        if self.writer is not None:
            self.writer.cancel()
        asyncio.get_running_loop().create_task(self._close(), context=contextvars.Context())

    async def _close(self) -> None:
        try:
            await self.websocket.close(code=SLOW_SOCKET_CODE, reason=SLOW_SOCKET_REASON)
        except Exception:
            log.debug("closing a slow socket failed: it is gone already", exc_info=True)

    def _forget(self) -> None:
        self.closed = True
        if self.frames is not None:
            self.frames.clear()
        self.frames = None


class _Rest:
    """The rest of a coroutine started outside any task, awaited in a task: the task waits for
    what the coroutine waits for and resumes it, as if it had run it from the start."""

    __slots__ = ("coroutine", "waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting: Any) -> None:
        self.coroutine, self.waiting = coroutine, waiting

    def __await__(self) -> Generator[Any, Any, None]:
        waiting = self.waiting
        while True:
            try:
                value = yield waiting
            except BaseException as error:  # thrown into the task (its cancellation)
                step = partial(self.coroutine.throw, error)
            else:
                step = partial(self.coroutine.send, value)
            try:
                waiting = step()
            except StopIteration:
                return
