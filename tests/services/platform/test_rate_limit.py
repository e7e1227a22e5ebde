"""The token buckets: limits hold, memory stays bounded, a flood of keys resets no one."""

from __future__ import annotations

from services.platform.rate_limit import RateLimiter


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
