"""Twenty stacks registering one accountId at once, through the real CLI: twenty `pulumi up`
processes (stacks of their own, one emulator) started together, each declaring the same
customer. Plume ends with one customer; one stack holds it; each of the nineteen others fails
naming the accountId and the ways out (adopt, import, another accountId), with no customer in
its state. (`tests/reliability/test_races.py` races the same twenty registers with
`PlumeClient` threads: the faster copy.)

The emulator holds every register 2 s before it performs it (a slow Plume), so the registers
of the twenty stacks are at Plume at the same time rather than one after the other as each CLI
gets its turn on the machine's cores."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from plume_testkit.cli import CliStack
from plume_testkit.cli_run import CliRun
from plume_testkit.fleets import provider_config
from tests.conftest import EmulatorFactory
from tests.reliability.conftest import partner_state
from tests.reliability.fault_soak import REGISTER, saved_of_type

STACKS = 20
ACCOUNT = "RACE-ONE-ACCOUNT"
REGISTER_HELD_MS = 2000
PASSPHRASE = "plume-cli-race"

S = TypeVar("S")
T = TypeVar("T")


def _at_once(items: list[S], work: Callable[[S], T]) -> list[T]:
    """`work` on every item at once, a thread each; the results in the items' order."""
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(work, items, timeout=600))


def _customers(exported: dict[str, Any]) -> list[dict[str, Any]]:
    return saved_of_type(exported["deployment"].get("resources") or [], "plume:Customer")


def test_twenty_concurrent_ups_of_one_account_make_one_customer_and_nineteen_conflict_hints(
    pulumi_cli: Path, emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    started = time.monotonic()
    emulator = emulator_factory(waf_limit=0)
    config = {
        **provider_config(emulator.api_url, emulator.token_url),
        "plume-fleet:customers": [{"accountId": ACCOUNT, "name": "Twenty at once"}],
    }
    stacks = _at_once(
        list(range(STACKS)),
        lambda i: CliStack(
            pulumi_cli,
            tmp_path / f"stack-{i:02d}",
            dict(config),
            f"race{i:02d}",
            passphrase=PASSPHRASE,
            env={"PULUMI_DEBUG_COMMANDS": "true"},
        ),
    )
    emulator.set_faults([{"method": "POST", "path": REGISTER, "delay_ms": REGISTER_HELD_MS}])
    emulator.reset_stats()

    barrier = threading.Barrier(STACKS)
    spans: dict[str, tuple[float, float]] = {}

    def up(stack: CliStack) -> CliRun:
        barrier.wait(timeout=60)
        begun = time.monotonic()
        run = stack.up(check=False)
        spans[stack.stack] = (begun, time.monotonic())
        return run

    runs = _at_once(stacks, up)
    stats = emulator.stats()
    raced = time.monotonic()

    # The twenty ups really ran at once: every one had started before the first ended, and the
    # registers were at the emulator together.
    assert max(begun for begun, _ in spans.values()) < min(ended for _, ended in spans.values())
    registers = {
        row["status"]: row["count"] for row in stats["requests"] if row["route"] == REGISTER
    }
    assert registers == {200: 1, 409: STACKS - 1}, registers
    assert stats["in_flight_peak"] >= 2

    live = [c for c in partner_state(emulator)["customers"] if c["accountId"] == ACCOUNT]
    assert len(live) == 1, live
    customer_id = live[0]["id"]

    exports = _at_once(stacks, lambda stack: stack.export())
    winners = [i for i, run in enumerate(runs) if run.returncode == 0]
    assert len(winners) == 1, [run.returncode for run in runs]
    winner = winners[0]
    assert runs[winner].changes == {"create": 1}
    assert [c["id"] for c in _customers(exports[winner])] == [customer_id]

    for i, run in enumerate(runs):
        if i == winner:
            continue
        name = stacks[i].stack
        assert run.returncode != 0, name
        assert f"accountId {ACCOUNT} already exists" in run.output, (name, run.output[-3000:])
        assert f"(customer {customer_id})" in run.output, name
        assert "set adopt: true on the PlumeCustomer" in run.output, name
        assert f"importId: {customer_id}" in run.output, name
        assert "choose another accountId" in run.output, name
        assert _customers(exports[i]) == [], f"{name} holds a customer it did not create"

    emulator.clear_faults()
    destroyed = stacks[winner].destroy()
    assert destroyed.changes == {"delete": 1}
    assert partner_state(emulator)["customers"] == []
    print(
        f"\n{STACKS} concurrent ups in {raced - min(b for b, _ in spans.values()):.1f} s "
        f"(in flight at once at the emulator: {stats['in_flight_peak']}); whole test "
        f"{time.monotonic() - started:.1f} s"
    )
