"""Request counters for ``/_emulator/stats``: by method, route template and status, and how many
metered requests were in flight at once (the peak, and the busy seconds from which a run's mean
concurrency is busy seconds / wall seconds)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters; ``reset`` zeroes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self.tokens_issued = 0
        self.faults_injected = 0
        self._in_flight = 0
        self._in_flight_peak = 0
        self._busy_seconds = 0.0

    def begin(self) -> float:
        """A metered request starts; returns its start time for `end`."""
        with self._lock:
            self._in_flight += 1
            self._in_flight_peak = max(self._in_flight_peak, self._in_flight)
        return time.perf_counter()

    def end(self, started: float) -> None:
        elapsed = time.perf_counter() - started
        with self._lock:
            self._in_flight -= 1
            self._busy_seconds += elapsed

    def record(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1

    def token_issued(self) -> None:
        with self._lock:
            self.tokens_issued += 1

    def fault_injected(self) -> None:
        with self._lock:
            self.faults_injected += 1

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self.tokens_issued = 0
            self.faults_injected = 0
            self._in_flight_peak = self._in_flight
            self._busy_seconds = 0.0

    def snapshot(self) -> dict[str, Any]:
        """The ``GET /_emulator/stats`` document."""
        with self._lock:
            requests = [
                {"method": method, "route": route, "status": status, "count": count}
                for (method, route, status), count in sorted(self._requests.items())
            ]
            return {
                "requests": requests,
                "tokens_issued": self.tokens_issued,
                "faults_injected": self.faults_injected,
                "in_flight_peak": self._in_flight_peak,
                "busy_seconds": round(self._busy_seconds, 6),
            }
