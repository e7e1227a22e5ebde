"""The token buckets: limits hold, memory stays bounded, a flood of keys resets no one."""

from __future__ import annotations

from services.platform.rate_limit import Debounce, RateLimiter


def test_a_burst_then_the_rate():
    limiter = RateLimiter(0.001, 3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0  # another key has its own bucket


def test_a_flood_of_new_keys_is_bounded_and_resets_no_busy_key():
    limiter = RateLimiter(0.001, 2, max_keys=100)
    limiter.take("busy")
    limiter.take("busy")
    for n in range(5_000):
        limiter.take(f"random-{n}")
        # Still limited while the flood goes on: its bucket is never thrown away.
        assert limiter.take("busy") > 0, n
    assert len(limiter) <= 100


class Clock:
    """A hand-moved monotonic clock (time is the one thing tests may fake)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_debounce_lets_one_action_through_per_window():
    clock = Clock()
    debounce = Debounce(3.0, timer=clock)
    assert debounce.first("a") is True
    clock.now = 2.9
    assert debounce.first("a") is False
    assert debounce.first("b") is True  # another key has its own window
    clock.now = 3.0
    assert debounce.first("a") is True


def test_a_debounce_remembers_a_bounded_number_of_keys():
    debounce = Debounce(60.0, max_keys=100)
    for n in range(5_000):
        debounce.first(f"contact-{n}")
    assert len(debounce) <= 100
