"""Under the real CLI, `up --yes --skip-preview`: a fleet that shrinks by accident removes nothing.

A stack of 30 customers (one gateway each) from a CSV fleet file, or inline. Every way the fleet
can shrink (file cut, emptied, switched, setting removed, inline list emptied, half the rows) is
refused before any request reaches the emulator, not even a token; protect keeps a household's
nodes claimed; an allowance removes exactly the customers it names, once; the plan line
counts what preview and up will do."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from plume_testkit.cli_lab import CliLab
from plume_testkit.cli_run import CliRun

HEADER = "accountId,name,protect,serialNumber,nickname"
ALLOW = "PLUME_FLEET_ALLOW_REMOVALS"
REFUSED = "Nothing was declared or sent to Plume"


def account(i: int) -> str:
    return f"G-{i:02d}"


def rows(indices: range | list[int], protected: frozenset[int] = frozenset()) -> list[str]:
    return [
        f"{account(i)},Family {i},{'true' if i in protected else ''},LAB-GW-{i + 1:04d},Hall"
        for i in indices
    ]


def write_csv(lab: CliLab, lines: list[str], name: str = "fleets/pilot.csv") -> None:
    path = lab.project / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    lab.config.pop("plume-fleet:customers", None)
    lab.config["plume-fleet:fleetFile"] = name


def deploy_thirty(lab: CliLab, protected: frozenset[int] = frozenset()) -> None:
    write_csv(lab, rows(range(30), protected))
    lab.up()
    assert len(lab.partner()["customers"]) == 30
    assert len(lab.claimed()) == 30
    lab.emulator.reset_stats()


def assert_refused_and_untouched(lab: CliLab, run: CliRun, *expected: str) -> None:
    assert run.returncode != 0, run.output
    for text in expected:
        assert text in run.output
    assert lab.emulator.stats()["requests"] == []  # not even a token
    assert len(lab.partner()["customers"]) == 30
    assert len(lab.claimed()) == 30


def _cut_to_header(lab: CliLab) -> None:
    write_csv(lab, [])


def _half_the_rows(lab: CliLab) -> None:
    write_csv(lab, rows(range(15)))


def _switched(text: str, name: str) -> Callable[[CliLab], None]:
    def switch(lab: CliLab) -> None:
        (lab.project / name).write_text(text)
        lab.config["plume-fleet:fleetFile"] = name

    return switch


def _setting_removed(lab: CliLab) -> None:
    del lab.config["plume-fleet:fleetFile"]


SHRINKS: dict[str, Callable[[CliLab], None]] = {
    "csv-cut-to-header": _cut_to_header,
    "half-the-rows-gone": _half_the_rows,
    "switched-to-empty-yaml": _switched("", "fleets/pilot.yaml"),
    "switched-to-empty-json-list": _switched("[]", "fleets/pilot.json"),
    "switched-to-empty-json-object": _switched("{}", "fleets/pilot.json"),
    "fleet-file-setting-removed": _setting_removed,
}


@pytest.mark.parametrize("shrink", list(SHRINKS.values()), ids=list(SHRINKS))
def test_a_fleet_file_that_shrinks_by_accident_removes_nothing(
    cli_lab: CliLab, shrink: Callable[[CliLab], None]
) -> None:
    deploy_thirty(cli_lab)
    shrink(cli_lab)
    refused = cli_lab.up(check=False)
    assert_refused_and_untouched(cli_lab, refused, REFUSED, f"{ALLOW}=")


def test_an_emptied_inline_list_removes_nothing(cli_lab: CliLab) -> None:
    customers: list[dict[str, Any]] = [
        {"accountId": account(i), "nodes": [{"serialNumber": f"LAB-GW-{i + 1:04d}"}]}
        for i in range(30)
    ]
    cli_lab.config["plume-fleet:customers"] = customers
    cli_lab.up()
    cli_lab.emulator.reset_stats()
    cli_lab.config["plume-fleet:customers"] = []
    refused = cli_lab.up(check=False)
    assert_refused_and_untouched(
        cli_lab, refused, "delete 30 of the 30 customer(s) the stack manages", f"{ALLOW}=30"
    )


def test_stack_wide_protect_keeps_every_gateway_claimed_when_the_file_is_emptied(
    cli_lab: CliLab,
) -> None:
    cli_lab.config["plume-fleet:protect"] = True
    deploy_thirty(cli_lab)
    write_csv(cli_lab, [])
    refused = cli_lab.up(check=False)
    assert_refused_and_untouched(cli_lab, refused, "protected resource(s)", REFUSED)
    # even with the count allowed, protect holds: the household stays whole
    cli_lab.env[ALLOW] = "30"
    try:
        allowed = cli_lab.up(check=False)
    finally:
        del cli_lab.env[ALLOW]
    assert_refused_and_untouched(cli_lab, allowed, "protected resource(s)")


def test_a_protected_customer_leaving_the_fleet_keeps_its_gateway(cli_lab: CliLab) -> None:
    deploy_thirty(cli_lab, protected=frozenset({7}))
    write_csv(cli_lab, rows([i for i in range(30) if i != 7]))
    refused = cli_lab.up(check=False)
    assert_refused_and_untouched(
        cli_lab, refused, f"customer {account(7)}, node LAB-GW-0008", "protected resource(s)"
    )


def test_one_churned_customer_leaves_within_the_budget(cli_lab: CliLab) -> None:
    deploy_thirty(cli_lab)
    write_csv(cli_lab, rows(range(1, 30)))
    cli_lab.up()
    calls = cli_lab.mutating_calls()
    assert sum(n for (method, _), n in calls.items() if method == "DELETE") == 2
    assert account(0) not in {c["accountId"] for c in cli_lab.partner()["customers"]}
    assert len(cli_lab.claimed()) == 29


def _deleted_accounts(lab: CliLab, before: set[str]) -> set[str]:
    return before - {c["accountId"] for c in lab.partner()["customers"]}


def test_an_allowance_removes_exactly_its_count_once_then_refuses_again(cli_lab: CliLab) -> None:
    deploy_thirty(cli_lab)
    everyone = {account(i) for i in range(30)}
    write_csv(cli_lab, rows(range(20)))
    assert_refused_and_untouched(cli_lab, cli_lab.up(check=False), f"{ALLOW}=10")

    cli_lab.env[ALLOW] = "9"  # a count that is not the removal's is no allowance
    assert_refused_and_untouched(cli_lab, cli_lab.up(check=False), f"{ALLOW} is 9, not 10")
    cli_lab.env[ALLOW] = "10"
    try:
        cli_lab.up()
    finally:
        del cli_lab.env[ALLOW]
    assert _deleted_accounts(cli_lab, everyone) == {account(i) for i in range(20, 30)}
    assert len(cli_lab.claimed()) == 20

    # the environment variable was for that run: the next accidental cut is refused
    cli_lab.emulator.reset_stats()
    write_csv(cli_lab, rows(range(10)))
    refused = cli_lab.up(check=False)
    assert refused.returncode != 0
    assert cli_lab.emulator.stats()["requests"] == []
    assert len(cli_lab.partner()["customers"]) == 20

    # the config form is spent by the update that uses it, while the key stays set
    cli_lab.config["plume-fleet:allowRemovals"] = 10
    cli_lab.up()
    assert cli_lab.outputs()["allowRemovalsSpent"] == 10
    assert len(cli_lab.partner()["customers"]) == 10
    cli_lab.up()  # an update that removes nothing keeps it spent
    cli_lab.emulator.reset_stats()
    write_csv(cli_lab, [])
    again = cli_lab.up(check=False)
    assert again.returncode != 0
    assert "was already used by an earlier update" in again.output
    assert cli_lab.emulator.stats()["requests"] == []
    assert len(cli_lab.partner()["customers"]) == 10


def test_preview_and_up_print_the_plan_line_first(cli_lab: CliLab) -> None:
    deploy_thirty(cli_lab)
    changed = rows(range(1, 30))
    changed[0] = changed[0].replace(",Hall", ",Office")  # G-01's gateway renamed
    changed += [
        f"{account(40)},New Family,,LAB-GW-0041,Hall",
        f"{account(41)},Other Family,,LAB-GW-0042,Hall",
    ]
    write_csv(cli_lab, changed)
    line = (
        "plume-fleet: +2 customers, -1 customer, +2 claims, -1 unclaim, 1 rename; licenses 30 -> 31"
    )
    preview = cli_lab.preview()
    assert line in preview.output
    assert preview.output.index(line) < preview.output.index("customer-G-40")
    up = cli_lab.up()
    assert line in up.output
    assert up.output.index(line) < up.output.index("customer-G-40")
    assert len(cli_lab.claimed()) == 31
    assert json.loads(json.dumps(cli_lab.outputs()["licensesInUse"])) == 31
