from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any event is set or after `timeout` seconds, whichever comes first."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def in_own_task(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in a task of its own and wait for it.

    `databases` keeps one connection wrapper per task, and a release that fails (the database
    went away mid-query) leaves that wrapper unusable for the rest of the task's life. Workers
    loop forever in one task, so each unit of their work runs in a fresh task: after an outage
    the next attempt starts clean.
    """
    return await asyncio.create_task(work)


async def drain(tasks: set[asyncio.Task[Any]], timeout: float) -> None:
    """A worker's shutdown: give the work in flight `timeout` seconds to finish, then cancel
    what is left and wait until it has unwound (its `except CancelledError` cleanup ran)."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(set(tasks), timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
