"""One rate budget per source IP: the machine's (SQLite in the cache directory) and Redis's,
shared by separate processes; a WAF block seen by one process holds back the others; an
unusable shared budget fails before any request. Counts and order only: the rates achieved
are measured by bench/shared_budget.py."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
import redis

from plume_emulator.testing import EmulatorServer
from plume_provider.client import PlumeClient
from plume_provider.client._budget import (
    MACHINE_BUDGET_FILE,
    MachineStore,
    RateBudgetUnavailableError,
    RedisStore,
    SharedBudget,
    gcra,
)
from plume_provider.client._ratelimit import TokenBucket, budget_for, granted_requests
from plume_provider.client.errors import ConfigurationError
from plume_provider.client.settings import PlumeSettings
from plume_provider.resources.config import settings_from_config
from plume_testkit.ports import free_port

from .conftest import run_at_once

KEY = "https://plume.test"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the algorithm --------------------------------------------------------------------------


def test_gcra_gives_the_burst_then_one_slot_per_interval() -> None:
    tat, blocked, waits = 0.0, 0.0, []
    for _ in range(9):
        tat, wait = gcra(tat, blocked, 100.0, rate=6, burst=6)
        waits.append(wait)
    assert waits[:6] == [0.0] * 6
    assert waits[6:] == pytest.approx([1 / 6, 2 / 6, 3 / 6])


def test_gcra_after_a_block_starts_at_its_end_without_a_burst() -> None:
    tat, wait = gcra(0.0, 130.0, 100.0, rate=10, burst=5)
    assert wait == pytest.approx(30.0)
    tat, wait = gcra(tat, 130.0, 100.0, rate=10, burst=5)
    assert wait == pytest.approx(30.1)


def test_gcra_ignores_a_schedule_left_by_a_clock_that_jumped_back() -> None:
    _, wait = gcra(tat=5000.0, blocked_until=5000.0, now=1000.0, rate=6, burst=6)
    assert wait == 0.0


# -- the machine's budget ----------------------------------------------------------------------


def test_two_stores_on_one_file_hand_out_one_schedule(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.sqlite"
    first = SharedBudget(MachineStore(path, clock), KEY, rate=6, burst=1)
    second = SharedBudget(MachineStore(path, clock), KEY, rate=6, burst=1)
    waits = [(first if i % 2 else second).reserve() for i in range(8)]
    assert waits == pytest.approx([i / 6 for i in range(8)])
    other_host = SharedBudget(MachineStore(path, clock), "https://elsewhere.test", 6, 1)
    assert other_host.reserve() == 0.0


def test_a_block_in_one_store_holds_back_the_other(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "budget.sqlite"
    blocked = SharedBudget(MachineStore(path, clock), KEY, rate=100, burst=10)
    other = SharedBudget(MachineStore(path, clock), KEY, rate=100, burst=10)
    blocked.block_for(3)
    assert other.reserve() == pytest.approx(3.0)
    clock.now += 10
    assert other.reserve() == 0.0


_RESERVE_SLOTS = """
from plume_provider.client.settings import PlumeSettings
from plume_provider.client._ratelimit import budget_for
settings = PlumeSettings(api_url=args["api_url"], requests_per_second=args["rate"], burst=1,
                         rate_limit_scope=args["scope"])
budget = budget_for(settings)
ready()
slots = []
for _ in range(args["count"]):
    wait = budget.reserve()
    slots.append(time.time() + wait)
print(json.dumps(slots))
"""


def _slots_of_processes(caches: list[Path], scope: str, count: int, rate: float) -> list[float]:
    values = {"api_url": "https://plume.test/api", "rate": rate, "scope": scope, "count": count}
    results = run_at_once(_RESERVE_SLOTS, [(cache, values) for cache in caches])
    return sorted(slot for slots in results for slot in slots)


SLOW = 2.0
"""Requests per second of the cross-process tests: nobody waits for the slots (they are only
reserved), and half an interval (0.25 s) absorbs the jitter of reading the clock after the
store answered on a busy machine."""


def _distinct_slots(slots: list[float], rate: float) -> bool:
    """One schedule: consecutive slots an interval apart (less that jitter), all of them
    spanning the whole schedule."""
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    return min(gaps) >= 0.5 / rate and slots[-1] - slots[0] >= (len(slots) - 1.5) / rate


def test_three_processes_on_one_machine_get_distinct_slots(tmp_path: Path) -> None:
    slots = _slots_of_processes([tmp_path / "cache"] * 3, "machine", count=10, rate=SLOW)
    assert len(slots) == 30
    assert _distinct_slots(slots, rate=SLOW)


def test_process_scope_gives_each_process_its_own_budget(tmp_path: Path) -> None:
    slots = _slots_of_processes([tmp_path / "cache"] * 3, "process", count=10, rate=SLOW)
    # today's failure: three overlapping budgets put 30 slots where one budget puts 10
    # (9 intervals, plus however far apart the processes started), one budget 29 intervals
    assert slots[-1] - slots[0] < 15 / SLOW < 28.5 / SLOW


def test_separate_cache_dirs_are_separate_machines(tmp_path: Path) -> None:
    slots = _slots_of_processes(
        [tmp_path / "machine-a", tmp_path / "machine-b"], "machine", count=10, rate=SLOW
    )
    assert slots[-1] - slots[0] < 14 / SLOW < 18.5 / SLOW


def test_the_machine_budget_lives_in_the_user_cache_directory(tmp_path: Path) -> None:
    budget = budget_for(PlumeSettings(api_url="https://plume.test/api"))
    assert isinstance(budget, SharedBudget)
    assert isinstance(budget.store, MachineStore)
    assert budget.store.path.is_relative_to(tmp_path.parent)  # XDG_CACHE_HOME of the test
    assert budget.store.path.name == "rate-budget.sqlite"
    assert budget.key == "https://plume.test"


def test_an_unwritable_cache_directory_fails_naming_the_file_and_the_way_out(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(RateBudgetUnavailableError) as info:
        MachineStore(blocker / "plume-fleet" / "rate-budget.sqlite")
    message = str(info.value)
    assert "\n" not in message
    assert str(blocker) in message
    assert "cannot be opened or written" in message
    assert "make its directory writable" in message
    assert "PLUME_RATE_LIMIT_SCOPE" in message


def test_a_corrupt_budget_file_is_named_corrupt_with_delete_as_the_way_out(
    tmp_path: Path,
) -> None:
    """Not "make the directory writable": the directory is writable, the file is garbage."""
    path = tmp_path / "rate-budget.sqlite"
    path.write_bytes(b"this is no sqlite database, just bytes " * 100)
    with pytest.raises(RateBudgetUnavailableError) as info:
        MachineStore(path)
    message = str(info.value)
    assert f"{path} is not a usable SQLite database" in message
    assert "delete the file and run again" in message
    assert "writable" not in message
    assert "nothing was sent to Plume" in message


# -- the block, across processes -----------------------------------------------------------------

_NEXT_REQUEST = """
from plume_provider.client import PlumeClient
from plume_provider.client.settings import PlumeSettings
sleeps = []
settings = PlumeSettings(api_url=args["api_url"], token_url=args["token_url"],
                         client_id="lab-client", client_secret="lab-secret",
                         partner_id="lab-partner", rate_limit_scope=args["scope"])
with PlumeClient(settings, sleep=sleeps.append) as client:
    ready()
    asked = time.time()
    client.lookup_node("LAB-GW-0002")
print(json.dumps({"asked": asked, "sleeps": sleeps}))
"""


def _first_request_blocked(
    emulator: EmulatorServer, settings: PlumeSettings
) -> tuple[float, float]:
    """One request of this process meets the WAF's 403 with Retry-After: 3; its start and end."""
    emulator.set_faults(
        [
            {
                "method": "GET",
                "path": "/api/Partners/nodes/*",
                "status": 403,
                "times": 1,
                "headers": {"Retry-After": "3"},
            }
        ]
    )
    started = time.time()
    with PlumeClient(settings, sleep=lambda _: None) as client:
        client.lookup_node("LAB-GW-0001")
    ended = time.time()
    assert emulator.stats()["faults_injected"] == 1
    return started, ended


@pytest.mark.parametrize("scope", ["machine", "redis"])
def test_a_waf_block_seen_by_one_process_pauses_the_next_requests_of_another(
    emulator: EmulatorServer, tmp_path: Path, scope: str, request: pytest.FixtureRequest
) -> None:
    if scope == "redis":
        scope = request.getfixturevalue("redis_url")
    lab = emulator.credentials("lab-partner")
    settings = PlumeSettings(
        api_url=lab.api_url,
        token_url=lab.token_url,
        client_id=lab.client_id,
        client_secret=lab.client_secret,
        partner_id=lab.partner_id,
        rate_limit_scope=scope,
    )
    seen: list[tuple[float, float]] = []
    (other,) = run_at_once(
        _NEXT_REQUEST,
        [
            (
                Path(os.environ["XDG_CACHE_HOME"]),
                {"api_url": lab.api_url, "token_url": lab.token_url, "scope": scope},
            )
        ],
        before_go=lambda: seen.append(_first_request_blocked(emulator, settings)),
    )
    ((started, ended),) = seen
    assert len(other["sleeps"]) == 1
    next_request_at = other["asked"] + other["sleeps"][0]
    assert next_request_at >= started + 3
    assert next_request_at <= ended + 3 + 1  # the block, not a longer wait


# -- Redis ---------------------------------------------------------------------------------------


def test_two_machines_sharing_one_redis_get_distinct_slots(tmp_path: Path, redis_url: str) -> None:
    slots = _slots_of_processes(
        [tmp_path / "machine-a", tmp_path / "machine-b"], redis_url, count=10, rate=SLOW
    )
    assert len(slots) == 20
    assert _distinct_slots(slots, rate=SLOW)


def test_redis_budget_is_keyed_per_api_host(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        plume = SharedBudget(store, KEY, rate=1, burst=1)
        elsewhere = SharedBudget(store, "https://elsewhere.test", rate=1, burst=1)
        assert plume.reserve() == 0.0
        assert plume.reserve() == pytest.approx(1.0, abs=0.05)
        assert elsewhere.reserve() == 0.0
    finally:
        store.close()


def test_redis_unreachable_fails_in_one_line_before_any_request(emulator: EmulatorServer) -> None:
    lab = emulator.credentials("lab-partner")
    url = f"redis://:hunter2-redis-pass@127.0.0.1:{free_port()}/0"
    settings = settings_from_config(
        {
            "plume:apiUrl": lab.api_url,
            "plume:tokenUrl": lab.token_url,
            "plume:clientId": lab.client_id,
            "plume:clientSecret": lab.client_secret,
            "plume:partnerId": lab.partner_id,
            "plume:rateLimitUrl": url,
        }
    )
    emulator.reset_stats()
    with pytest.raises(RateBudgetUnavailableError) as info:
        PlumeClient(settings)
    message = str(info.value)
    assert "\n" not in message
    assert "Redis redis://127.0.0.1:" in message
    assert "hunter2-redis-pass" not in message
    assert "nothing was sent to Plume" in message
    assert emulator.stats()["requests"] == []
    assert emulator.stats()["tokens_issued"] == 0


def test_redis_going_away_mid_run_fails_the_request_instead_of_sending_it(
    redis_url: str,
) -> None:
    store = RedisStore(redis_url)
    budget = SharedBudget(store, KEY, rate=6, burst=6)
    assert budget.reserve() == 0.0
    redis.Redis.from_url(redis_url).shutdown(nosave=True)
    with pytest.raises(RateBudgetUnavailableError, match="unreachable") as info:
        budget.reserve()
    store.close()
    # one request went out on the first slot: the error does not claim nothing was sent
    assert "this request was not sent to Plume (1 earlier request(s)" in str(info.value)
    assert "nothing was sent" not in str(info.value)


def test_a_wrong_redis_password_is_named_as_refused_not_as_unreachable(redis_url: str) -> None:
    admin = redis.Redis.from_url(redis_url)
    admin.config_set("requirepass", "right-redis-pass")
    admin.close()
    wrong = redis_url.replace("redis://", "redis://:canary-wrong-pass-7f3@")
    with pytest.raises(RateBudgetUnavailableError) as info:
        RedisStore(wrong)
    message = str(info.value)
    assert "refused this client" in message
    assert "check the user and password in plume:rateLimitUrl" in message
    assert "unreachable" not in message
    assert "canary-wrong-pass-7f3" not in message
    assert "nothing was sent to Plume" in message


# -- settings --------------------------------------------------------------------------------------


def test_scope_defaults_to_machine_and_a_redis_url_means_redis() -> None:
    assert PlumeSettings().rate_limit_mode == "machine"
    assert PlumeSettings(rate_limit_scope="process").rate_limit_mode == "process"
    by_url = PlumeSettings(rate_limit_url="redis://r:6379/0")
    assert (by_url.rate_limit_mode, by_url.rate_limit_redis_url) == ("redis", "redis://r:6379/0")
    as_scope = PlumeSettings(rate_limit_scope="redis://r:6379/1")
    assert (as_scope.rate_limit_mode, as_scope.rate_limit_redis_url) == (
        "redis",
        "redis://r:6379/1",
    )


def test_scope_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_RATE_LIMIT_SCOPE", "process")
    assert settings_from_config({}).rate_limit_mode == "process"
    assert isinstance(budget_for(settings_from_config({})), TokenBucket)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"plume:rateLimitScope": "cluster"}, "plume:rateLimitScope"),
        ({"plume:rateLimitScope": "redis"}, "needs rate_limit_url"),
        (
            {"plume:rateLimitScope": "machine", "plume:rateLimitUrl": "redis://r/0"},
            "a Redis URL is never ignored",
        ),
        ({"plume:rateLimitUrl": "http://r:6379"}, "plume:rateLimitUrl"),
    ],
)
def test_contradicting_or_bad_scope_settings_are_refused(
    config: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        settings_from_config(config)


def test_the_limiter_off_has_no_budget_in_any_scope() -> None:
    for scope in ("process", "machine", "redis://127.0.0.1:1/0"):
        assert budget_for(PlumeSettings(requests_per_second=0, rate_limit_scope=scope)) is None


def test_a_redis_password_never_reaches_a_log_line() -> None:
    from plume_provider.client._redaction import redact

    PlumeSettings(rate_limit_url="redis://:s3cret-redis-pw@r:6379/0")
    assert "s3cret-redis-pw" not in redact("connecting to redis://:s3cret-redis-pw@r:6379/0")


def test_the_machine_budget_counts_the_requests_it_grants_across_stores(tmp_path: Path) -> None:
    """What `plume-fleet rollout` reads as requests per second: every process together."""
    path = tmp_path / MACHINE_BUDGET_FILE
    first, second = MachineStore(path), MachineStore(path)
    try:
        for store in (first, second, first):
            store.reserve(KEY, 1000.0, 10)
        second.reserve("https://elsewhere.test", 1000.0, 10)
        assert first.granted(KEY) == second.granted(KEY) == 3
        assert first.granted("https://never.test") == 0
    finally:
        first.close()
        second.close()


def test_the_redis_budget_counts_the_requests_it_grants(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        before = store.granted(KEY)
        for _ in range(4):
            store.reserve(KEY, 1000.0, 10)
        assert store.granted(KEY) - before == 4
    finally:
        store.close()


def test_granted_requests_is_none_for_a_budget_of_one_process() -> None:
    """Nothing shared, nothing to read: the rollout shows no request rate."""
    process = PlumeSettings(rate_limit_scope="process", requests_per_second=6)
    off = PlumeSettings(requests_per_second=0)
    assert granted_requests(process) is None
    assert granted_requests(off) is None
