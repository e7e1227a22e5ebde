"""broadcaster backends for several replicas that survive load and lost connections.

broadcaster 0.3's own Redis backend can miss its first subscription (its listener may start
before the SUBSCRIBE lands, then waits forever), and its PostgreSQL backend shares one
connection for LISTEN and NOTIFY, which fails under concurrent publishes. These keep the
listening connection to themselves, publish on another, and reconnect with backoff when the
server goes away.

They plug in through broadcaster's public API for custom backends (`broadcaster.BroadcastBackend`,
`Broadcast(backend=...)`, both since 0.3), so nothing here depends on its private modules.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from broadcaster import Broadcast, BroadcastBackend, Event
from redis import asyncio as redis

log = logging.getLogger("atendimento.broadcast")


class _ListeningBackend(BroadcastBackend):
    """The shared part: a queue of received events and a listener that reconnects."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen_forever())
            await asyncio.wait_for(self._listening.wait(), 30)
        else:
            await self._add_channel(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def next_published(self) -> Event:
        while True:
            event = await self._queue.get()
            if event.channel in self._channels:
                return event

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    async def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("broadcast listener lost (%s); reconnecting in %.1fs", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)

    async def _listen(self) -> None:
        raise NotImplementedError

    async def _add_channel(self, channel: str) -> None:
        raise NotImplementedError


class RedisBackend(_ListeningBackend):
    async def connect(self) -> None:
        self._publisher = redis.Redis.from_url(self._url)
        self._pubsub: Any = None

    async def _listen(self) -> None:
        client = redis.Redis.from_url(self._url)
        try:
            self._pubsub = client.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(*self._channels)
            self._listening.set()
            while True:
                message = await self._pubsub.get_message(timeout=30)
                if message and message["type"] == "message":
                    self._queue.put_nowait(
                        Event(message["channel"].decode(), message["data"].decode())
                    )
        finally:
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await client.aclose()

    async def _add_channel(self, channel: str) -> None:
        if self._pubsub is not None:
            await self._pubsub.subscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        await self._publisher.publish(channel, message)

    async def disconnect(self) -> None:
        await super().disconnect()
        await self._publisher.aclose()


class PostgresBackend(_ListeningBackend):
    async def connect(self) -> None:
        self._publisher: asyncpg.Connection | None = None
        self._publish_lock = asyncio.Lock()
        self._listener_conn: asyncpg.Connection | None = None

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        self._queue.put_nowait(Event(channel, str(payload)))  # NOTIFY payloads arrive as text

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._url)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _: lost.set())
        try:
            self._listener_conn = conn
            for channel in self._channels:
                await conn.add_listener(channel, self._on_notify)
            self._listening.set()
            await lost.wait()
            raise ConnectionError("the LISTEN connection closed")
        finally:
            self._listener_conn = None
            await conn.close()

    async def _add_channel(self, channel: str) -> None:
        if self._listener_conn is not None:
            await self._listener_conn.add_listener(channel, self._on_notify)

    async def publish(self, channel: str, message: Any) -> None:
        async with self._publish_lock:
            for attempt in (1, 2):
                if self._publisher is None or self._publisher.is_closed():
                    self._publisher = await asyncpg.connect(self._url)
                try:
                    await self._publisher.execute("SELECT pg_notify($1, $2)", channel, message)
                    return
                except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                    self._publisher = None
                    if attempt == 2:
                        raise

    async def disconnect(self) -> None:
        await super().disconnect()
        if self._publisher is not None:
            await self._publisher.close()


def create_broadcast(url: str) -> Broadcast:
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        return Broadcast(backend=RedisBackend(url))
    if scheme in ("postgres", "postgresql"):
        return Broadcast(backend=PostgresBackend(url))
    return Broadcast(url)
