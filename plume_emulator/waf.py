"""The web application firewall: N requests per rolling window per client address.

Blocked requests do not count towards the window, so ``Retry-After`` (seconds
until the oldest admitted request leaves the window) is exact.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from plume_emulator.options import Clock


class Waf:
    """Sliding-window request counter; ``limit == 0`` disables it."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str) -> int | None:
        """Record a request; None if admitted, else the Retry-After seconds."""
        if self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(client, deque())
            horizon = now - self.window
            while times and times[0] <= horizon:
                times.popleft()
            if len(times) >= self.limit:
                return max(1, math.ceil(times[0] + self.window - now))
            times.append(now)
            return None

    def reset(self) -> None:
        """Forget every client's history."""
        with self._lock:
            self._seen.clear()
