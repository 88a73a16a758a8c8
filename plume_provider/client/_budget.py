"""Rate budgets whose state lives outside the process: one per machine, or one in Redis.

The algorithm is GCRA (the generic cell rate algorithm, a token bucket kept as one number): the
state of a budget is `tat`, the time at which the bucket would be full again, and
`blocked_until`, the end of the latest WAF block. A reservation moves `tat` on by one interval
(`1 / rate`) and waits until it is within `burst` intervals of now. Reading and writing both
happens in one atomic step of the store, so slots are handed out one at a time, in the order
they are asked for, whichever process asks: a SQLite transaction (`BEGIN IMMEDIATE`) for the
machine, a Lua script (on Redis's own clock, so the machines' clocks need not agree) for Redis.

A WAF block moves `blocked_until`; the next reservation then starts after it, with an empty
bucket (no burst right at the end of a block), so the firewall's window really clears.

Why not a library: pyrate-limiter (SQLite and Redis buckets) keeps one row per request and
makes a waiting caller poll until a slot is free, first to ask is not first served, so a stack
can starve; it has no shared "blocked until" either. `limits` has Redis but no local store.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import platformdirs

from plume_provider.client.errors import RateBudgetUnavailableError
from plume_provider.client.extras import install_command

__all__ = [
    "MACHINE_BUDGET_FILE",
    "BudgetStore",
    "MachineStore",
    "RateBudgetUnavailableError",
    "RedisStore",
    "SharedBudget",
    "gcra",
]

MACHINE_BUDGET_FILE = "rate-budget.sqlite"
"""In `platformdirs.user_cache_dir("plume-fleet")` (`$XDG_CACHE_HOME/plume-fleet` on Linux)."""
REDIS_KEY_PREFIX = "plume-fleet:rate-budget:"
REDIS_CONNECT_TIMEOUT = 3.0
REDIS_TIMEOUT = 5.0
SQLITE_BUSY_TIMEOUT = 30.0
STALE_AFTER = 900.0
"""A stored time further ahead than this is a clock that jumped back (or an old file), not a
schedule: it is ignored rather than stalling every stack (a real schedule is seconds ahead, a
WAF block at most the 5-minute window)."""
_SCOPE_HINT = "or set plume:rateLimitScope (PLUME_RATE_LIMIT_SCOPE) to 'process'"


def gcra(
    tat: float, blocked_until: float, now: float, rate: float, burst: int
) -> tuple[float, float]:
    """One reservation: the new `tat` and the seconds to wait before using the slot."""
    interval = 1.0 / rate
    if tat > now + STALE_AFTER:
        tat = now
    if blocked_until > now + STALE_AFTER:
        blocked_until = now
    start = max(tat, now, blocked_until + (burst - 1) * interval)
    new_tat = start + interval
    wait = new_tat - now - burst * interval
    return new_tat, wait if wait > 1e-9 else 0.0  # no sleep for a rounding error


class BudgetStore(Protocol):
    """Where shared budgets live; every method is atomic across processes."""

    def reserve(self, key: str, rate: float, burst: int) -> float:
        """Take the next slot of budget `key`; the seconds to wait for it."""

    def block(self, key: str, seconds: float) -> None:
        """Nobody sharing budget `key` gets a slot before `seconds` from now."""

    def granted(self, key: str) -> int:
        """The slots budget `key` has handed out, all processes together (a rollout's
        requests per second are its differences)."""

    def close(self) -> None:
        """Release connections."""


class SharedBudget:
    """A `ratelimit.RateBudget` whose state is in a `BudgetStore` (machine or Redis)."""

    def __init__(self, store: BudgetStore, key: str, rate: float, burst: int) -> None:
        self.store = store
        self.key = key
        self.rate = rate
        self.burst = burst
        self.granted = 0

    def reserve(self) -> float:
        try:
            wait = self.store.reserve(self.key, self.rate, self.burst)
        except RateBudgetUnavailableError as err:
            raise err.after(self.granted) from None
        self.granted += 1
        return wait

    def block_for(self, seconds: float) -> None:
        try:
            self.store.block(self.key, seconds)
        except RateBudgetUnavailableError as err:
            raise err.after(self.granted) from None

    def close(self) -> None:
        self.store.close()


class MachineStore:
    """Budgets in one SQLite file that every process of this machine opens."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA synchronous=OFF")  # a cache: losing it at a crash is fine
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS budget (key TEXT PRIMARY KEY, "
                "tat REAL NOT NULL, blocked_until REAL NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS granted (key TEXT PRIMARY KEY, slots INTEGER NOT NULL)"
            )
        except (OSError, sqlite3.Error) as err:
            raise self._unusable(err) from None

    @classmethod
    def default(cls) -> MachineStore:
        """The store in the user's cache directory."""
        return cls(Path(platformdirs.user_cache_dir("plume-fleet")) / MACHINE_BUDGET_FILE)

    def _unusable(self, err: BaseException) -> RateBudgetUnavailableError:
        """Corrupt, held locked, or not writable: each has its own way out."""
        what = f"({type(err).__name__}: {err})"
        if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
            return RateBudgetUnavailableError(
                f"the machine's rate budget {self.path} is not a usable SQLite database {what}",
                "it only holds a schedule that is rebuilt at once: delete the file and run "
                f"again, {_SCOPE_HINT}",
            )
        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            return RateBudgetUnavailableError(
                f"the machine's rate budget {self.path} stayed locked by another process for "
                f"{SQLITE_BUSY_TIMEOUT:.0f} s {what}",
                f"find the stuck process (`fuser {self.path}`), stop it and run again, "
                f"{_SCOPE_HINT}",
            )
        return RateBudgetUnavailableError(
            f"the machine's rate budget {self.path} cannot be opened or written {what}",
            f"make its directory writable (XDG_CACHE_HOME), {_SCOPE_HINT}",
        )

    def _update(
        self,
        key: str,
        change: Callable[[float, float, float], tuple[Any, ...]],
        *,
        grant: bool = False,
    ) -> Any:
        """Run `change(tat, blocked_until, now) -> (tat, blocked_until, result)` atomically
        (and count one granted slot with it when `grant`)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._db.execute(
                        "SELECT tat, blocked_until FROM budget WHERE key = ?", (key,)
                    ).fetchone()
                    tat, blocked = (float(row[0]), float(row[1])) if row else (0.0, 0.0)
                    new_tat, new_blocked, result = change(tat, blocked, self._clock())
                    self._db.execute(
                        "INSERT INTO budget (key, tat, blocked_until) VALUES (?, ?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, "
                        "blocked_until = excluded.blocked_until",
                        (key, new_tat, new_blocked),
                    )
                    if grant:
                        self._db.execute(
                            "INSERT INTO granted (key, slots) VALUES (?, 1) "
                            "ON CONFLICT (key) DO UPDATE SET slots = slots + 1",
                            (key,),
                        )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                raise self._unusable(err) from None
            return result

    def reserve(self, key: str, rate: float, burst: int) -> float:
        def take(tat: float, blocked: float, now: float) -> tuple[float, float, float]:
            new_tat, wait = gcra(tat, blocked, now, rate, burst)
            return new_tat, blocked, wait

        wait: float = self._update(key, take, grant=True)
        return wait

    def granted(self, key: str) -> int:
        with self._lock:
            try:
                row = self._db.execute("SELECT slots FROM granted WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as err:
                raise self._unusable(err) from None
        return int(row[0]) if row else 0

    def block(self, key: str, seconds: float) -> None:
        def hold(tat: float, blocked: float, now: float) -> tuple[float, float, None]:
            return tat, max(blocked, now + seconds), None

        self._update(key, hold)

    def close(self) -> None:
        with self._lock:
            self._db.close()


_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = 1 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'blocked_until')
local tat = tonumber(state[1]) or 0
local blocked = tonumber(state[2]) or 0
if tat > now + tonumber(ARGV[3]) then tat = now end
if blocked > now + tonumber(ARGV[3]) then blocked = now end
local new_tat = math.max(tat, now, blocked + (burst - 1) * interval) + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', new_tat))
redis.call('HINCRBY', KEYS[1], 'granted', 1)
redis.call('EXPIRE', KEYS[1], math.ceil(math.max(new_tat, blocked) - now) + 3600)
return string.format('%.6f', math.max(0, new_tat - now - burst * interval))
"""

_BLOCK = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until')) or 0
local until_ = math.max(blocked, now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'blocked_until', string.format('%.6f', until_))
redis.call('EXPIRE', KEYS[1], math.ceil(until_ - now) + 3600)
return 1
"""


def _display(url: str) -> str:
    """The Redis URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


REDIS_EXTRA = install_command("redis")


def _redis() -> Any:
    """The `redis` package, imported only when a Redis budget is used (the `redis` extra)."""
    try:
        import redis
    except ImportError:
        raise RateBudgetUnavailableError(
            "plume:rateLimitScope names a Redis, and the redis package is not installed",
            f"{REDIS_EXTRA} (or set plume:rateLimitScope to 'machine')",
        ) from None
    return redis


class RedisStore:
    """Budgets in one Redis shared by several machines; checked reachable when created."""

    def __init__(self, url: str) -> None:
        redis = _redis()
        self.url = _display(url)
        try:
            self._redis = redis.Redis.from_url(
                url,
                socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
                socket_timeout=REDIS_TIMEOUT,
            )
            self._redis.ping()
        except (redis.RedisError, ValueError, OSError) as err:
            raise self._unusable(err) from None
        self._reserve = self._redis.register_script(_RESERVE)
        self._block = self._redis.register_script(_BLOCK)

    def _unusable(self, err: BaseException) -> RateBudgetUnavailableError:
        """Refused credentials, unreachable, or an error answer: each has its own way out."""
        redis = _redis()
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        scope = f"{_SCOPE_HINT} or 'machine'"
        if isinstance(err, redis.AuthenticationError | redis.exceptions.NoPermissionError):
            return RateBudgetUnavailableError(
                f"the shared rate budget's Redis {self.url} refused this client ({reason})",
                "check the user and password in plume:rateLimitUrl (set it with --secret), "
                f"{scope}",
            )
        if isinstance(err, ValueError):
            return RateBudgetUnavailableError(
                f"the shared rate budget's Redis URL {self.url} is not usable ({reason})",
                f"write it as redis://[user:password@]host:port/db, {scope}",
            )
        if isinstance(err, redis.ConnectionError | redis.TimeoutError | OSError):
            return RateBudgetUnavailableError(
                f"the shared rate budget's Redis {self.url} is unreachable ({reason})",
                f"start it, check the host and port in plume:rateLimitUrl, {scope}",
            )
        return RateBudgetUnavailableError(
            f"the shared rate budget's Redis {self.url} answered an error ({reason})",
            f"check that it is a writable primary that runs scripts, {scope}",
        )

    def reserve(self, key: str, rate: float, burst: int) -> float:
        redis = _redis()
        try:
            answer = self._reserve(
                keys=[REDIS_KEY_PREFIX + key], args=[repr(rate), burst, STALE_AFTER]
            )
        except redis.RedisError as err:
            raise self._unusable(err) from None
        return float(answer)

    def block(self, key: str, seconds: float) -> None:
        redis = _redis()
        try:
            self._block(keys=[REDIS_KEY_PREFIX + key], args=[repr(math.ceil(seconds * 1e6) / 1e6)])
        except redis.RedisError as err:
            raise self._unusable(err) from None

    def granted(self, key: str) -> int:
        redis = _redis()
        try:
            value = self._redis.hget(REDIS_KEY_PREFIX + key, "granted")
        except redis.RedisError as err:
            raise self._unusable(err) from None
        return int(value or 0)

    def close(self) -> None:
        self._redis.close()
