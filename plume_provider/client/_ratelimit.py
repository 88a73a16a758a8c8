"""Rate budgets: one per Plume API host, shared by whoever shares the source IP.

Plume recommends at most 6 requests per second and its WAF blocks an IP past 2,000 requests in
five minutes, for every process behind that IP. So the budget is shared, by scope
(`PlumeSettings.rate_limit_mode`):

* `process`: a `TokenBucket` in memory, shared by the threads of this process (the provider
  host runs several); what every `pulumi up` had before, each with its own budget;
* `machine` (the default): a `SharedBudget` over a SQLite file in the user's cache directory
  (`_budget.MachineStore`), shared by every plume-fleet process of this machine;
* `redis`: a `SharedBudget` over one Redis (`_budget.RedisStore`), shared by every machine using
  it (several machines behind one NAT address).

Every budget has the same two methods. `reserve()` hands out the next slot and returns how long
the caller must wait for it, so the caller sleeps with its own (injectable) sleep and no lock is
held while waiting; slots are handed out in the order they are asked for, so no thread, process
or stack starves. `block_for()` records a WAF block (`Retry-After`): every caller sharing the
budget waits until it has passed, not only the one that was blocked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from plume_provider.client.settings import PlumeSettings

__all__ = [
    "RateBudget",
    "TokenBucket",
    "bucket_for",
    "budget_for",
    "budget_key",
    "clear_buckets",
    "granted_requests",
]


class RateBudget(Protocol):
    """What the client needs of a rate budget, whoever shares it."""

    def reserve(self) -> float:
        """Take the next slot; return the seconds to wait before using it (0 when free now)."""

    def block_for(self, seconds: float) -> None:
        """Hold every caller sharing this budget back for `seconds` (the WAF asked us to wait)."""


class TokenBucket:
    """`rate` requests per second with bursts of up to `burst`; thread-safe, in this process."""

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


def budget_key(api_url: str) -> str:
    """What one budget is shared per: the API host (`https://host:port`).

    Not the partner: Plume's firewall counts requests per source IP, whoever sends them, so
    two partners' stacks on one machine share one budget too.
    """
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}"


_budgets: dict[tuple[str, str, float, int], RateBudget] = {}
_budgets_lock = threading.Lock()


def budget_for(settings: PlumeSettings) -> RateBudget | None:
    """The rate budget these settings draw from; None when `requests_per_second` is 0 (off).

    One budget object per scope, host, rate and burst in a process; for `machine` and `redis`
    its state lives outside the process. Raises `budget.RateBudgetUnavailableError` (a
    `ConfigurationError`) when the shared state cannot be used (Redis unreachable, cache
    directory not writable): never a silent fall back to a budget of this process alone.
    """
    rate, burst = settings.requests_per_second, settings.burst
    if rate <= 0:
        return None
    mode = settings.rate_limit_mode
    key = budget_key(settings.api_url)
    where = (settings.rate_limit_redis_url or "") if mode == "redis" else ""
    cache_key = (f"{mode}:{where}", key, rate, burst)
    with _budgets_lock:
        found = _budgets.get(cache_key)
        if found is not None:
            return found
        budget: RateBudget
        if mode == "process":
            budget = TokenBucket(rate, burst)
        else:
            from plume_provider.client._budget import MachineStore, RedisStore, SharedBudget

            store = RedisStore(where) if mode == "redis" else MachineStore.default()
            budget = SharedBudget(store, key, rate, burst)
        _budgets[cache_key] = budget
        return budget


def granted_requests(settings: PlumeSettings) -> int | None:
    """The requests the shared budget of these settings has granted so far, every process of
    every stack together; None when the budget is not shared (scope `process`, or off)."""
    if settings.requests_per_second <= 0 or settings.rate_limit_mode == "process":
        return None
    from plume_provider.client._budget import MachineStore, RedisStore

    if settings.rate_limit_mode == "redis":
        store: MachineStore | RedisStore = RedisStore(settings.rate_limit_redis_url or "")
    else:
        store = MachineStore.default()
    try:
        return store.granted(budget_key(settings.api_url))
    finally:
        store.close()


def bucket_for(api_url: str, rate: float, burst: int) -> TokenBucket | None:
    """The in-process bucket for this API host and rate (scope `process`); None when off."""
    settings = PlumeSettings(
        api_url=api_url,
        requests_per_second=rate,
        burst=burst,
        rate_limit_scope="process",
    )
    budget = budget_for(settings)
    assert budget is None or isinstance(budget, TokenBucket)
    return budget


def clear_buckets() -> None:
    """Forget every budget of this process (tests); shared state outside it stays."""
    with _budgets_lock:
        budgets = list(_budgets.values())
        _budgets.clear()
    for budget in budgets:
        close = getattr(budget, "close", None)
        if close is not None:
            close()
