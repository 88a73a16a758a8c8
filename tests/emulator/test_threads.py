"""SQLite work runs in worker threads, off the event loop, on connections the threads share.

A request held inside the store stalls only itself: each case holds one call of a store
function (the API, the token endpoint, the developer API) until ``/_emulator/health`` has
answered. Were the store called on the event loop, health could not answer while the call is
held, the hold would run out instead of being released, and the test says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from plume_emulator import store
from plume_emulator.db import Database
from plume_emulator.testing import EmulatorServer
from tests.emulator.helpers import HTTP, Api

HOLD_LIMIT = 30.0
"""How long a held store call waits for its release before giving up (only a failure waits)."""

Send = Callable[[EmulatorServer, Api], httpx.Response]


def _lookup_node(emulator: EmulatorServer, api: Api) -> httpx.Response:
    return api.request("GET", "/Partners/nodes/LAB-GW-0001")


def _token(emulator: EmulatorServer, api: Api) -> httpx.Response:
    return httpx.post(
        emulator.token_url,
        headers={"Authorization": emulator.credentials().auth_header},
        data={
            "grant_type": "client_credentials",
            "scope": "partnerId:lab-partner role:partnerIdAdmin",
        },
        timeout=HOLD_LIMIT * 2,
    )


def _state(emulator: EmulatorServer, api: Api) -> httpx.Response:
    return httpx.get(emulator.url + "/_emulator/state", timeout=HOLD_LIMIT * 2)


@pytest.mark.parametrize(
    ("function", "send"),
    [
        pytest.param("node", _lookup_node, id="api"),
        pytest.param("partner_of_client", _token, id="oauth2-token"),
        pytest.param("partner_ids", _state, id="emulator-state"),
    ],
)
def test_health_answers_while_a_request_is_held_in_the_store(
    emulator: EmulatorServer,
    api: Api,
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    send: Send,
) -> None:
    real = getattr(store, function)
    entered = threading.Event()
    release = threading.Event()
    released_in_time: list[bool] = []

    def held(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            released_in_time.append(release.wait(HOLD_LIMIT))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, function, held)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(send, emulator, api)
        try:
            assert entered.wait(HOLD_LIMIT), f"the request never reached store.{function}"
            health = HTTP.get(emulator.url + "/_emulator/health", timeout=HOLD_LIMIT * 2)
            held_meanwhile = not pending.done()
        finally:
            release.set()
        response = pending.result(timeout=HOLD_LIMIT)
    assert health.json() == {"status": "ok"}
    assert held_meanwhile, "the held request finished before health answered"
    assert released_in_time == [True], (
        f"store.{function} was held until its limit: the event loop could not answer health"
    )
    assert response.status_code == 200, response.text


def test_connections_are_shared_by_threads_not_opened_per_thread(tmp_path: Path) -> None:
    """Worker threads come and go; their transactions reuse the pooled connections."""
    db = Database(tmp_path / "pool.sqlite")
    db.create_schema()
    used: set[int] = set()

    def read() -> None:
        with db.read() as conn:
            used.add(id(conn))
            conn.execute("SELECT COUNT(*) FROM nodes").fetchone()

    try:
        for _ in range(10):
            worker = threading.Thread(target=read)
            worker.start()
            worker.join()
    finally:
        db.close()
    assert len(used) == 1, f"{len(used)} connections for 10 short-lived threads, one at a time"


def test_a_connection_left_inside_a_transaction_is_not_lent_again(tmp_path: Path) -> None:
    db = Database(tmp_path / "pool.sqlite")
    db.create_schema()
    try:
        with db._borrow() as stuck:
            stuck.execute("BEGIN")
        with db.read() as conn:
            assert conn is not stuck
            assert conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0
    finally:
        db.close()
