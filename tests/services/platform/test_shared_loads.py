"""SharedLoads: one load per key for everyone asking at once, failures and departures included."""

from __future__ import annotations

import asyncio

import pytest

from services.platform.shared_loads import SharedLoads
from tests.helpers import wait_for


class Counter:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.release = asyncio.Event()

    async def load(self) -> str:
        self.calls += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("database gone")
        return f"row-{self.calls}"


async def test_concurrent_askers_share_one_load() -> None:
    loads, counter = SharedLoads(), Counter()
    waiting = [asyncio.ensure_future(loads.get("k", counter.load)) for _ in range(50)]
    await wait_for(lambda: counter.calls)  # the load runs after every asker has asked
    counter.release.set()
    assert await asyncio.gather(*waiting) == ["row-1"] * 50
    assert counter.calls == 1
    assert await loads.get("other", counter.load) == "row-2"


async def test_one_asker_leaving_does_not_cancel_the_others() -> None:
    loads, counter = SharedLoads(), Counter()
    first = asyncio.ensure_future(loads.get("k", counter.load))
    second = asyncio.ensure_future(loads.get("k", counter.load))
    await wait_for(lambda: counter.calls)  # both are waiting on the one load
    first.cancel()
    counter.release.set()
    assert await second == "row-1"
    assert first.cancelled() and counter.calls == 1


async def test_a_failed_load_is_not_kept() -> None:
    loads, counter = SharedLoads(), Counter(fail=True)
    counter.release.set()
    with pytest.raises(RuntimeError):
        await loads.get("k", counter.load)
    counter.fail = False
    assert await loads.get("k", counter.load) == "row-2"


async def test_entries_expire_and_the_oldest_are_dropped() -> None:
    counter = Counter()
    counter.release.set()
    expired = SharedLoads(ttl=-1.0)  # every entry already too old
    await expired.get("k", counter.load)
    assert await expired.get("k", counter.load) == "row-2"
    small = SharedLoads(max_entries=2)
    for key in ("a", "b", "c"):
        await small.get(key, counter.load)
    assert await small.get("a", counter.load) == "row-6"  # "a" was dropped, loaded again
    assert await small.get("c", counter.load) == "row-5"
