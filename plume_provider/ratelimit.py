"""A process-wide token bucket per Plume API host.

Plume recommends at most 6 requests per second and its WAF blocks an IP past 2,000 requests in
five minutes, so every client in the process (the provider host runs 4 threads) draws from one
bucket. `reserve()` hands out slots and returns how long the caller must wait, so the caller
sleeps with its own (injectable) sleep and no lock is held while waiting. After a WAF block,
`block_for()` makes every thread wait, not only the one that was blocked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["TokenBucket", "bucket_for", "clear_buckets"]


class TokenBucket:
    """`rate` requests per second with bursts of up to `burst`; thread-safe."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = self._clock()
        self._blocked_until = 0.0

    def reserve(self) -> float:
        """Take one slot; return the seconds to wait before using it (0 when free now)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(wait, self._blocked_until - now)

    def block_for(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the WAF asked us to wait)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)


_buckets: dict[tuple[str, float, int], TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(api_url: str, rate: float, burst: int) -> TokenBucket | None:
    """The shared bucket for this API host and rate; None when `rate` is 0 (limiter off)."""
    if rate <= 0:
        return None
    parts = urlsplit(api_url)
    key = (f"{parts.scheme}://{parts.netloc}", rate, burst)
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate, burst)
        return bucket


def clear_buckets() -> None:
    """Forget every bucket (tests)."""
    with _buckets_lock:
        _buckets.clear()
