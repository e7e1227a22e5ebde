"""Token buckets, per key, in this process (each replica limits what reaches it)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from cachetools import TTLCache


class RateLimiter:
    """`rate_per_second` tokens a second per key, at most `burst` saved up.

    Memory is bounded: a bucket left alone until it is full again is the same as no bucket,
    so it expires then; past `max_keys` live buckets the least recently used one goes, so a
    flood of new keys (random names, many addresses) never resets the keys in use.
    """

    def __init__(self, rate_per_second: float, burst: float, max_keys: int = 10_000) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self._buckets: TTLCache[Hashable, tuple[float, float]] = TTLCache(
            maxsize=max_keys, ttl=burst / rate_per_second, timer=time.monotonic
        )

    def take(self, key: Hashable) -> float:
        """Spend one token; return 0 when allowed, else the seconds until a token is free."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


class Debounce:
    """At most one action per key every `window` seconds (typing indicators, per contact).

    Memory is bounded like the buckets above: a key is forgotten when its window is over, and
    past `max_keys` live keys the least recently used one goes (its next action is let through).
    """

    def __init__(
        self, window: float, max_keys: int = 10_000, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._recent: TTLCache[Hashable, bool] = TTLCache(maxsize=max_keys, ttl=window, timer=timer)

    def first(self, key: Hashable) -> bool:
        """True, and the window starts, when `key` had no action in the current window."""
        if key in self._recent:
            return False
        self._recent[key] = True
        return True

    def __len__(self) -> int:
        return len(self._recent)
