"""A worker's shutdown drain: work that finishes in time finishes, the rest is cancelled and
has unwound when the drain returns."""

from __future__ import annotations

import asyncio
from typing import Any

from services.platform.waiting import drain


async def test_a_drain_lets_quick_work_finish_and_cancels_the_rest() -> None:
    released = asyncio.Event()
    unwound: list[str] = []

    async def quick() -> str:
        await released.wait()
        return "done"

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            unwound.append("stuck")  # e.g. the outbox gives its claim back
            raise

    tasks: set[asyncio.Task[Any]] = {asyncio.create_task(quick()), asyncio.create_task(stuck())}
    released.set()
    await drain(tasks, timeout=0.2)
    by_name = {t.get_coro().__name__: t for t in tasks}  # type: ignore[union-attr]
    assert by_name["quick"].result() == "done"
    assert by_name["stuck"].cancelled() and unwound == ["stuck"]


async def test_nothing_in_flight_returns_at_once() -> None:
    await asyncio.wait_for(drain(set(), timeout=3600), 5)
