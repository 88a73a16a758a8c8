"""The engine double answers to the real engine: one scenario, run under both, must send the
emulator the same requests at every step (same routes, same methods, same counts).

Where they differ, the real CLI is right; the differences found so far, and what was done about
each, are listed in docs/architecture.md ("The engine double and the real engine").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from plume_emulator.testing import EmulatorServer
from plume_testkit.cli_lab import CliLab
from tests.lifecycle.conftest import Lab

CAFE = "LAB-ACCT-0003"


class Driver(Protocol):
    """What the scenario needs of a stack, whichever engine runs it."""

    emulator: EmulatorServer

    @property
    def customers(self) -> list[dict[str, Any]]: ...

    def set_customers(self, customers: list[dict[str, Any]]) -> None: ...

    def api_requests(self) -> Counter[tuple[str, str]]: ...


def rename(stack: Driver) -> None:
    customers = stack.customers
    customers[1]["nodes"][1]["nickname"] = "Kitchen (new)"
    stack.set_customers(customers)


def move(stack: Driver) -> None:
    customers = stack.customers
    study = customers[0]["nodes"].pop(1)
    next(c for c in customers if c["accountId"] == CAFE)["nodes"].append(study)
    stack.set_customers(customers)


def remove(stack: Driver) -> None:
    stack.set_customers([c for c in stack.customers if c["accountId"] != CAFE])


def nothing(stack: Driver) -> None:
    return None


# (name of the step, the change before it, the operation)
SCENARIO: list[tuple[str, Callable[[Driver], None], str]] = [
    ("up from empty", nothing, "up"),
    ("unchanged up", nothing, "up"),
    ("preview", nothing, "preview"),
    ("rename", rename, "up"),
    ("move", move, "up"),
    ("refresh", nothing, "refresh"),
    ("remove a customer", remove, "up"),
    ("destroy", nothing, "destroy"),
]


def run_scenario(stack: Driver, operate: Callable[[str], object]) -> list[Counter[tuple[str, str]]]:
    seen = []
    for _, change, operation in SCENARIO:
        change(stack)
        stack.emulator.reset_stats()
        operate(operation)
        seen.append(stack.api_requests())
    return seen


@pytest.fixture
def both(
    pulumi_cli: Path,
    emulator_factory: Callable[..., EmulatorServer],
    tmp_path: Path,
) -> tuple[Lab, CliLab]:
    double_emulator = emulator_factory()
    cli_emulator = emulator_factory()
    double = Lab(double_emulator, double_emulator.credentials(), tmp_path / "double.json")
    (tmp_path / "cli").mkdir()
    cli = CliLab(pulumi_cli, tmp_path / "cli", cli_emulator, cli_emulator.credentials())
    return double, cli


def test_engine_double_sends_what_the_real_engine_sends(both: tuple[Lab, CliLab]) -> None:
    double, cli = both
    by_double = run_scenario(double, lambda op: getattr(double.engine, op)())
    by_cli = run_scenario(cli, lambda op: getattr(cli, op)())
    for (step, _, _), seen_double, seen_cli in zip(SCENARIO, by_double, by_cli, strict=True):
        assert seen_double == seen_cli, f"{step}: double {seen_double} != real CLI {seen_cli}"
