"""Emulator settings (one frozen dataclass) and the clocks it can run on.

Every time-dependent rule (token expiry, the WAF window, timestamps) reads the
clock given here, so tests can move time forward instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Clock = Callable[[], float]
"""Returns the current Unix time in seconds."""

DEFAULT_DB = Path(".lab/plume.sqlite")


class ManualClock:
    """A clock that only moves when told to (``advance``); thread-safe."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class EmulatorOptions:
    """How one emulator instance behaves; the CLI flags map one to one onto these."""

    db_path: Path = DEFAULT_DB
    reset: bool = False
    inventory: Path | None = None
    token_ttl: int = 600
    already_claimed_status: int = 204
    pods_authorized: int = 32
    waf_limit: int = 2000
    waf_window: float = 300.0
    latency_ms: float = 0.0
    max_body_bytes: int = 64 * 1024
    fault_seed: int | None = None
    clock: Clock = field(default=time.time, compare=False)

    def __post_init__(self) -> None:
        if self.already_claimed_status not in (200, 204):
            raise ValueError("already_claimed_status must be 204 or 200")
        if self.token_ttl < 1:
            raise ValueError("token_ttl must be at least 1 second")
        if self.pods_authorized < 0 or self.waf_limit < 0 or self.latency_ms < 0:
            raise ValueError("pods_authorized, waf_limit and latency_ms must not be negative")
        if self.waf_window <= 0:
            raise ValueError("waf_window must be positive")
        object.__setattr__(self, "db_path", Path(self.db_path))
        if self.inventory is not None:
            object.__setattr__(self, "inventory", Path(self.inventory))
