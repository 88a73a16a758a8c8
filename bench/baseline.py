"""The direct-client baseline: the same API calls the provider makes, with one `httpx.Client`.

No retries, no rate limiter, no models, no engine: a token fetched once, then for `up`
register each customer and, as soon as it exists, claim its nodes; for `destroy` unclaim each
node and, once a customer's nodes are all unclaimed, delete it. Work runs on `workers` threads
(4, like the dynamic-provider host) in dependency order, as the engine schedules resources.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "BaselineFleet",
    "Endpoints",
    "baseline_destroy",
    "baseline_up",
    "fetch_token",
    "run_dag",
]

Task = Callable[[], list["Task"]]
"""A unit of work; returns the tasks it makes ready."""


@dataclass(frozen=True)
class Endpoints:
    """Where the emulator is and who we are."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    partner_id: str


@dataclass
class BaselineFleet:
    """What `baseline_up` created: accountId -> (customerId, locationId, serials), and the
    token it fetched (reused by `baseline_destroy`: one token per process, like the provider)."""

    customers: dict[str, tuple[str, str, list[str]]]
    token: str


def run_dag(roots: list[Task], workers: int, durations: list[float] | None = None) -> None:
    """Run `roots` and every task they make ready on `workers` threads; re-raise the first error.

    `durations`, when given, receives each task's wall seconds (one API call per task).
    """
    ready: queue.Queue[Task | None] = queue.Queue()
    lock = threading.Lock()
    pending = len(roots)
    errors: list[Exception] = []
    done = threading.Event()
    if not roots:
        return
    for task in roots:
        ready.put(task)

    def worker() -> None:
        nonlocal pending
        while True:
            task = ready.get()
            if task is None:
                return
            follow: list[Task] = []
            started = time.perf_counter()
            try:
                follow = task()
            except Exception as err:  # noqa: BLE001 - re-raised after the run
                errors.append(err)
            if durations is not None:
                durations.append(time.perf_counter() - started)
            with lock:
                pending += len(follow) - 1
                finished = pending == 0
            for item in follow:
                ready.put(item)
            if finished:
                done.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    done.wait()
    for _ in threads:
        ready.put(None)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def fetch_token(http: httpx.Client, endpoints: Endpoints) -> str:
    """One client-credentials token, as Plume's Okta hands it out."""
    response = http.post(
        endpoints.token_url,
        auth=(endpoints.client_id, endpoints.client_secret),
        data={
            "grant_type": "client_credentials",
            "scope": f"partnerId:{endpoints.partner_id} role:partnerIdAdmin",
        },
        headers={"Cache-Control": "no-cache"},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"baseline: {response.request.method} {response.request.url.path} -> "
            f"{response.status_code} {response.text[:200]}"
        )
    return response.json() if response.content else None


def baseline_up(
    http: httpx.Client,
    endpoints: Endpoints,
    fleet: list[dict[str, Any]],
    workers: int = 4,
    durations: list[float] | None = None,
) -> BaselineFleet:
    """Register every customer, then claim its nodes (token fetched once, inside the timing)."""
    token = fetch_token(http, endpoints)
    headers = {"Authorization": f"Bearer {token}"}
    api = endpoints.api_url.rstrip("/")
    created: dict[str, tuple[str, str, list[str]]] = {}
    lock = threading.Lock()

    def claim(customer_id: str, location_id: str, node: dict[str, Any]) -> Task:
        def run() -> list[Task]:
            _check(
                http.post(
                    f"{api}/Customers/{customer_id}/locations/{location_id}/nodes",
                    json={"serialNumber": node["serialNumber"], "nickname": node.get("nickname")},
                    headers=headers,
                )
            )
            return []

        return run

    def register(spec: dict[str, Any]) -> Task:
        def run() -> list[Task]:
            body = {
                "accountId": spec["accountId"],
                "partnerId": endpoints.partner_id,
                "name": spec.get("name"),
                "email": spec.get("email"),
            }
            customer = _check(
                http.post(
                    f"{api}/Customers/register",
                    json={k: v for k, v in body.items() if v is not None},
                    headers=headers,
                )
            )
            customer_id, location_id = customer["id"], customer["locationId"]
            serials = [node["serialNumber"] for node in spec.get("nodes", [])]
            with lock:
                created[spec["accountId"]] = (customer_id, location_id, serials)
            return [claim(customer_id, location_id, node) for node in spec.get("nodes", [])]

        return run

    run_dag([register(spec) for spec in fleet], workers, durations)
    return BaselineFleet(created, token)


def baseline_destroy(
    http: httpx.Client,
    endpoints: Endpoints,
    fleet: BaselineFleet,
    workers: int = 4,
    durations: list[float] | None = None,
) -> None:
    """Unclaim every node, then delete each customer once its nodes are gone."""
    headers = {"Authorization": f"Bearer {fleet.token}"}
    api = endpoints.api_url.rstrip("/")

    def delete(customer_id: str) -> Task:
        def run() -> list[Task]:
            _check(http.delete(f"{api}/Customers/{customer_id}", headers=headers))
            return []

        return run

    def customer_tasks(customer_id: str, location_id: str, serials: list[str]) -> list[Task]:
        if not serials:
            return [delete(customer_id)]
        remaining = [len(serials)]
        lock = threading.Lock()

        def unclaim(serial: str) -> Task:
            def run() -> list[Task]:
                _check(
                    http.delete(
                        f"{api}/Customers/{customer_id}/locations/{location_id}/nodes/{serial}",
                        headers=headers,
                    )
                )
                with lock:
                    remaining[0] -= 1
                    last = remaining[0] == 0
                return [delete(customer_id)] if last else []

            return run

        return [unclaim(serial) for serial in serials]

    roots: list[Task] = []
    for customer_id, location_id, serials in fleet.customers.values():
        roots.extend(customer_tasks(customer_id, location_id, serials))
    run_dag(roots, workers, durations)
