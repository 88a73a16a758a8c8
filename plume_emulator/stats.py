"""Request counters for ``/_emulator/stats``: by method, route template and status."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters; ``reset`` zeroes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self.tokens_issued = 0
        self.faults_injected = 0

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
            }
