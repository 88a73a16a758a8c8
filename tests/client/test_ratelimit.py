"""The process-wide token bucket."""

from __future__ import annotations

import threading

import httpx
import respx

from plume_provider.client import PlumeClient
from plume_provider.client._ratelimit import TokenBucket, bucket_for
from plume_provider.client.settings import PlumeSettings

from .conftest import API, Sleeps


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_paced() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=6, burst=6, clock=clock)
    assert [bucket.reserve() for _ in range(6)] == [0.0] * 6
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == [1 / 6, 2 / 6, 3 / 6]
    clock.now += 10
    assert bucket.reserve() == 0.0


def test_block_holds_everyone() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=10, clock=clock)
    bucket.block_for(30)
    assert bucket.reserve() == 30
    clock.now += 31
    assert bucket.reserve() == 0


def test_threads_share_one_schedule() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=6, burst=1, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(10):
            wait = bucket.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(w * 6) for w in waits) == list(range(40))


def test_bucket_shared_per_host_and_off_at_zero() -> None:
    a = bucket_for("https://plume.test/api", 6, 6)
    assert a is bucket_for("https://plume.test/other", 6, 6)
    assert a is not bucket_for("https://elsewhere.test/api", 6, 6)
    assert bucket_for("https://plume.test/api", 0, 6) is None


def test_client_sleeps_for_its_slot(mock: respx.MockRouter, settings: PlumeSettings) -> None:
    paced = settings.model_copy(update={"requests_per_second": 2.0, "burst": 1})
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json={"id": "c1"}))
    sleeps = Sleeps()
    with PlumeClient(paced, sleep=sleeps) as c:
        for _ in range(3):
            c.get_customer("c1")
    assert len(sleeps) == 2
    assert 0.4 < sleeps[0] <= 0.5
    assert 0.9 < sleeps[1] <= 1.0
