"""Races a pilot will meet: two stacks wanting one node, and many registers of one account.

* Two stacks (two engine doubles, two provider hosts, two threads) declare the same serial at
  different customers: exactly one claims it, the other fails naming the serial and "claimed by
  another customer", and the loser's other resources are intact and still managed.
* Twenty threads register the same accountId at once through `PlumeClient`: one customer
  exists afterwards; every thread either gets that customer or a `ConflictError`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer
from plume_provider.client import PlumeClient
from plume_provider.client.errors import ConflictError
from plume_provider.client.models import Customer, CustomerRegistration
from plume_testkit.enginedouble.engine import EngineDouble, RunResult
from plume_testkit.enginedouble.host import ProviderHost
from plume_testkit.fleets import LAB_PARTNER, provider_config, stack_config
from tests.reliability.conftest import lab_settings, partner_state

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "__main__.py"
CONTESTED = "LAB-POD-0700"
CLAIMED_ELSEWHERE = re.compile(r"claimed by another customer", re.IGNORECASE)


@pytest.fixture
def race_emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    with EmulatorServer(tmp_path / "plume.sqlite", waf_limit=0) as server:
        yield server


def _stack(tag: str, own_serials: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "accountId": f"RACE-{tag}-1",
            "name": f"Race {tag} one",
            "nodes": [{"serialNumber": CONTESTED, "nickname": f"wanted by {tag}"}]
            + [{"serialNumber": s} for s in own_serials[:2]],
        },
        {
            "accountId": f"RACE-{tag}-2",
            "name": f"Race {tag} two",
            "nodes": [{"serialNumber": s} for s in own_serials[2:]],
        },
    ]


def _run_concurrently(engines: dict[str, EngineDouble]) -> dict[str, RunResult]:
    results: dict[str, RunResult] = {}
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def run(tag: str, engine: EngineDouble) -> None:
        try:
            barrier.wait(timeout=30)
            results[tag] = engine.up(raise_on_error=False)
        except BaseException as err:  # noqa: BLE001 - surfaced below, in the test thread
            failures.append(err)

    threads = [
        threading.Thread(target=run, args=(tag, engine), name=f"stack-{tag}")
        for tag, engine in engines.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not failures, failures
    assert set(results) == set(engines), "a stack did not finish"
    return results


def test_two_stacks_racing_for_one_serial(race_emulator: EmulatorServer, tmp_path: Path) -> None:
    provider = provider_config(race_emulator.api_url, race_emulator.token_url)
    fleets = {
        "A": _stack("A", ["LAB-POD-0701", "LAB-POD-0702", "LAB-POD-0703"]),
        "B": _stack("B", ["LAB-POD-0711", "LAB-POD-0712", "LAB-POD-0713"]),
    }
    with ProviderHost() as host_a, ProviderHost() as host_b:
        engines = {
            "A": EngineDouble(
                PROGRAM, stack_config(fleets["A"], provider), tmp_path / "a.json", host=host_a
            ),
            "B": EngineDouble(
                PROGRAM, stack_config(fleets["B"], provider), tmp_path / "b.json", host=host_b
            ),
        }
        results = _run_concurrently(engines)

        losers = [tag for tag, result in results.items() if not result.ok]
        assert len(losers) == 1, {tag: r.errors for tag, r in results.items()}
        loser = losers[0]
        winner = "B" if loser == "A" else "A"
        errors = results[loser].errors
        assert [e.urn.rsplit("::", 1)[-1] for e in errors] == [f"node-{CONTESTED}"], errors
        assert CONTESTED in errors[0].message
        assert CLAIMED_ELSEWHERE.search(errors[0].message), errors[0].message

        state = partner_state(race_emulator)
        owner = {n["serialNumber"]: n["customerId"] for n in state["claimed_nodes"]}
        by_account = {c["accountId"]: c for c in state["customers"]}
        assert owner[CONTESTED] == by_account[f"RACE-{winner}-1"]["id"]
        assert results[winner].changes == {"create": 2 + 4}

        # The loser's own resources: every one its run created exists, where its state says.
        saved = {r.urn.rsplit("::", 1)[-1]: r for r in engines[loser].checkpoint().resources}
        assert f"node-{CONTESTED}" not in saved
        for spec in fleets[loser]:
            customer = saved.get(f"customer-{spec['accountId']}")
            if customer is None:
                continue  # not reached before the failure: the next up creates it
            assert customer.id == by_account[spec["accountId"]]["id"]
            for node in spec["nodes"]:
                resource = saved.get(f"node-{node['serialNumber']}")
                if resource is not None:
                    assert owner[node["serialNumber"]] == customer.id

        # ...and still managed: without the contested serial, the loser's next up only adds
        # what is missing (nothing replaced or deleted) and ends with exactly its fleet.
        for spec in fleets[loser]:
            spec["nodes"] = [n for n in spec["nodes"] if n["serialNumber"] != CONTESTED]
        engines[loser].stack_config["plume-fleet:customers"] = json.dumps(fleets[loser])
        again = engines[loser].up()
        assert set(again.changes) <= {"create"}, again.changes
        state = partner_state(race_emulator)
        owner = {n["serialNumber"]: n["customerId"] for n in state["claimed_nodes"]}
        by_account = {c["accountId"]: c for c in state["customers"]}
        for spec in fleets[loser]:
            for node in spec["nodes"]:
                assert owner[node["serialNumber"]] == by_account[spec["accountId"]]["id"]
        assert owner[CONTESTED] == by_account[f"RACE-{winner}-1"]["id"]

        for engine in engines.values():
            engine.destroy()
    assert partner_state(race_emulator)["licenses_in_use"] == 0


def test_twenty_concurrent_registers_of_one_account(race_emulator: EmulatorServer) -> None:
    registration = CustomerRegistration(
        account_id="RACE-ONE-ACCOUNT", partner_id=LAB_PARTNER, name="Twenty at once"
    )
    clients = [PlumeClient(lab_settings(race_emulator)) for _ in range(20)]
    outcomes: list[Customer | BaseException] = [RuntimeError("not run")] * 20
    barrier = threading.Barrier(20)

    def register(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[index] = clients[index].register_customer(registration)
        except BaseException as err:  # noqa: BLE001 - the test inspects every outcome
            outcomes[index] = err

    threads = [threading.Thread(target=register, args=(i,)) for i in range(20)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for client in clients:
            client.close()

    customers = [
        c for c in partner_state(race_emulator)["customers"] if c["accountId"] == "RACE-ONE-ACCOUNT"
    ]
    assert len(customers) == 1
    winners = [o for o in outcomes if isinstance(o, Customer)]
    others = [o for o in outcomes if not isinstance(o, Customer)]
    assert winners, outcomes
    assert {c.id for c in winners} == {customers[0]["id"]}
    assert all(isinstance(o, ConflictError) for o in others), others
    for error in others:
        assert "RACE-ONE-ACCOUNT" in str(error)
