"""A subscriber's inbox: order kept, a full inbox refuses instead of growing, leaving unregisters."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from services.platform.events import EventBus
from tests.helpers import wait_for


class NoBackend:
    """The bus is used here without its backend pump: only local fan-out is exercised."""


def _bus(size: int = 3) -> EventBus:
    bus = EventBus(NoBackend())  # type: ignore[arg-type]
    bus.QUEUE_SIZE = size
    return bus


async def test_messages_arrive_in_order_and_wake_a_waiting_reader() -> None:
    bus = _bus()
    async with bus.subscribe("c", decode=lambda p: p["n"]) as inbox:
        reader = asyncio.ensure_future(inbox.__anext__())
        await wait_for(lambda: inbox._waiter is not None)  # the reader waits for a message
        assert not reader.done()
        bus._dispatch('{"channel":"c","payload":{"n":1}}')
        assert await asyncio.wait_for(reader, 1) == 1
        for n in (2, 3):
            bus._dispatch(f'{{"channel":"c","payload":{{"n":{n}}}}}')
        assert [await inbox.__anext__(), await inbox.__anext__()] == [2, 3]


async def test_falling_behind_is_logged_once_per_episode(caplog) -> None:
    bus = _bus(size=1)
    async with bus.subscribe("c") as inbox:
        for _episode in range(2):
            for n in range(5):
                bus._dispatch(f'{{"channel":"c","payload":{{"n":{n}}}}}')
            assert inbox.dropped == 4
            assert await inbox.__anext__() == {"n": 0}
            reader = asyncio.ensure_future(inbox.__anext__())  # caught up: waits again
            await wait_for(lambda: inbox._waiter is not None)
            assert inbox.dropped == 0
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    assert len([r for r in caplog.records if "falls behind" in r.getMessage()]) == 2


async def test_a_full_inbox_drops_new_messages_and_leaving_unregisters() -> None:
    bus = _bus(size=2)
    decoded: list[Any] = []

    def decode(payload: dict[str, Any]) -> Any:
        decoded.append(payload)
        return payload["n"]

    async with bus.subscribe("c", decode) as first, bus.subscribe("c", decode) as second:
        assert bus.subscriber_count == 2
        for n in range(4):
            bus._dispatch(f'{{"channel":"c","payload":{{"n":{n}}}}}')
        assert len(decoded) == 4  # once per message, not once per subscriber
        assert [await first.__anext__(), await first.__anext__()] == [0, 1]
        assert [await second.__anext__(), await second.__anext__()] == [0, 1]
    assert bus.subscriber_count == 0 and bus._local == {}
