"""Loads that many subscribers ask for at the same moment, done once per process.

When a message arrives, every subscriber of its number wants the same row: without sharing,
200 subscribers meant 200 identical queries per event (BENCHMARKS.md, live part). The first
one to ask starts the load in its own task; the others wait for that task. An entry lives a
few seconds — long enough for one event's fan-out, short enough that a later reader sees
fresh data.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 2048
TTL_SECONDS = 5.0


class SharedLoads:
    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, asyncio.Task[Any]]] = OrderedDict()

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is None or now - entry[0] > self.ttl:
            # Its own task: a subscriber that goes away must not cancel the others' load, and
            # `databases` gives each task its own connection.
            task: asyncio.Task[Any] = asyncio.ensure_future(load())
            task.add_done_callback(lambda done: self._forget_failure(key, done))
            self._entries[key] = (now, task)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        else:
            task = entry[1]
            if task.done() and not task.cancelled() and task.exception() is None:
                return task.result()  # type: ignore[no-any-return]
        result: T = await asyncio.shield(task)
        return result

    def _forget_failure(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        # A failed load is not kept: the next subscriber tries again.
        if task.cancelled() or task.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[1] is task:
                del self._entries[key]
