"""Token buckets, per key, in this process (each replica limits what reaches it)."""

from __future__ import annotations

import time
from collections.abc import Hashable


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: float, max_keys: int = 10_000) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> float:
        """Spend one token; return 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a flood of new keys resets everyone
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate
