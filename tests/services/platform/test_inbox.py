"""A subscriber's inbox: order kept, a full inbox refuses instead of growing, leaving unregisters.

Events go through the bus's public API over broadcaster's in-memory backend: published, pumped
and fanned out as in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from broadcaster import Broadcast

from services.platform.events import EventBus, Publication
from tests.helpers import wait_for


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    broadcast = Broadcast("memory://")
    await broadcast.connect()
    bus = EventBus(broadcast)
    bus.QUEUE_SIZE = 3
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()
        await broadcast.disconnect()


async def publish(bus: EventBus, *numbers: int) -> None:
    await bus.publish(Publication("c", {"n": n}) for n in numbers)


async def test_messages_arrive_in_order_and_wake_a_waiting_reader(bus: EventBus) -> None:
    async with bus.subscribe("c", decode=lambda p: p["n"]) as inbox:
        reader = asyncio.ensure_future(inbox.__anext__())  # waits: the inbox is empty
        await publish(bus, 1)  # dispatched by the bus's pump, after the reader began to wait
        assert await asyncio.wait_for(reader, 5) == 1
        await publish(bus, 2, 3)
        assert [await inbox.__anext__(), await inbox.__anext__()] == [2, 3]


async def test_falling_behind_is_logged_once_per_episode(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.QUEUE_SIZE = 1
    async with bus.subscribe("c") as inbox:
        for _episode in range(2):
            await publish(bus, *range(5))
            await wait_for(lambda: inbox.dropped == 4)
            assert await inbox.__anext__() == {"n": 0}
            reader = asyncio.ensure_future(inbox.__anext__())  # caught up: waits again
            await wait_for(lambda: inbox.dropped == 0)
            assert not reader.done()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    assert len([r for r in caplog.records if "falls behind" in r.getMessage()]) == 2


async def test_a_full_inbox_drops_new_messages_and_leaving_unregisters(bus: EventBus) -> None:
    bus.QUEUE_SIZE = 2
    decoded: list[Any] = []

    def decode(payload: dict[str, Any]) -> Any:
        decoded.append(payload)
        return payload["n"]

    async with bus.subscribe("c", decode) as first, bus.subscribe("c", decode) as second:
        assert bus.subscriber_count == 2
        await publish(bus, *range(4))
        await wait_for(lambda: first.dropped == 2 and second.dropped == 2)
        assert len(decoded) == 4  # once per message, not once per subscriber
        assert [await first.__anext__(), await first.__anext__()] == [0, 1]
        assert [await second.__anext__(), await second.__anext__()] == [0, 1]
    assert bus.subscriber_count == 0
    # Nobody listens on the channel any more: a message there is not even decoded.
    async with bus.subscribe("other") as witness:
        await publish(bus, 9)
        await bus.publish([Publication("other", {"n": 1})])
        assert await asyncio.wait_for(witness.__anext__(), 5) == {"n": 1}
    assert len(decoded) == 4
