"""Which stacks `plume-fleet rollout` runs, decided from the project's stack files before any
stack runs: every shard of a fleet file needs exactly one stack, `--only` must name selected
stacks, a glob must match; and the fleet line's arithmetic (done / total, ETA)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plume_provider.rollout.runner import StackProgress
from plume_provider.rollout.selection import RolloutSelectionError, StackTarget, select_stacks
from plume_provider.rollout.view import FleetRate, fleet_line

FLEET = "accountId,name,shard\nA-1,A One,east\nA-2,A Two,east\nB-1,B One,west\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: plume-fleet\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "fleets").mkdir()
    (tmp_path / "fleets" / "f.csv").write_text(FLEET)
    return tmp_path


def stack(project: Path, name: str, **config: str) -> str:
    document = {"config": {f"plume-fleet:{k}": v for k, v in config.items()}}
    (project / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document))
    return name


def test_the_shards_of_a_fleet_file_are_its_stacks_with_their_customers(project: Path) -> None:
    names = [
        stack(project, "pilot-west", fleetFile="fleets/f.csv", shard="west"),
        stack(project, "pilot-east", fleetFile="fleets/f.csv", shard="east"),
        stack(project, "lab", fleetFile="fleets/other.csv"),
    ]
    chosen = select_stacks(project, names, fleet_file=project / "fleets" / "f.csv")
    assert chosen == [StackTarget("pilot-east", "east", 2), StackTarget("pilot-west", "west", 1)]


def test_a_shard_without_a_stack_is_refused_naming_it(project: Path) -> None:
    names = [stack(project, "pilot-east", fleetFile="fleets/f.csv", shard="east")]
    with pytest.raises(RolloutSelectionError, match=r"no stack declares shard\(s\) west"):
        select_stacks(project, names, fleet_file=project / "fleets" / "f.csv")


def test_two_stacks_of_one_shard_are_refused(project: Path) -> None:
    names = [
        stack(project, "a", fleetFile="fleets/f.csv", shard="east"),
        stack(project, "b", fleetFile="fleets/f.csv", shard="east"),
        stack(project, "c", fleetFile="fleets/f.csv", shard="west"),
    ]
    with pytest.raises(
        RolloutSelectionError, match=r"shard 'east' is declared by 2 stacks \(a, b\)"
    ):
        select_stacks(project, names, fleet_file=project / "fleets" / "f.csv")


def test_only_narrows_the_selection_and_refuses_a_stack_outside_it(project: Path) -> None:
    names = [stack(project, n, fleetFile="fleets/f.csv", shard="east") for n in ("p-1", "p-2")]
    names.append(stack(project, "lab"))
    assert [t.name for t in select_stacks(project, names, patterns=["p-*"], only=["p-2"])] == [
        "p-2"
    ]
    with pytest.raises(RolloutSelectionError, match="--only names lab, not among"):
        select_stacks(project, names, patterns=["p-*"], only=["lab"])
    with pytest.raises(RolloutSelectionError, match="no stack of the project matches q-"):
        select_stacks(project, names, patterns=["q-*"])


def test_the_fleet_line_counts_customers_and_estimates_what_is_left() -> None:
    stacks = [StackProgress("a", 10, customers_done=10), StackProgress("b", 30, customers_done=10)]
    line = fleet_line(stacks, elapsed=60.0, rate=FleetRate(6.0))
    assert line.startswith("customers 20/40")
    assert "ETA 1m00s" in line  # 20 left at 20 a minute
    unknown = [*stacks, StackProgress("c", None)]
    assert fleet_line(unknown, 60.0, FleetRate(None)).startswith("customers 20/40 (+?)")


def test_each_stack_declares_its_shard_within_its_wave(project: Path) -> None:
    """The fleet is read once for all its stacks; each stack's shard and wave select from it."""
    (project / "fleets" / "f.csv").write_text(
        "accountId,name,shard,wave\nA-1,A One,east,1\nA-2,A Two,east,2\nB-1,B One,west,1\n"
    )
    names = [
        stack(project, "pilot-east", fleetFile="fleets/f.csv", shard="east", wave="1"),
        stack(project, "pilot-west", fleetFile="fleets/f.csv", shard="west"),
    ]
    chosen = select_stacks(project, names, fleet_file=project / "fleets" / "f.csv")
    assert [(t.name, t.customers) for t in chosen] == [("pilot-east", 1), ("pilot-west", 1)]
    east_all = stack(project, "pilot-east", fleetFile="fleets/f.csv", shard="east")
    assert select_stacks(project, [east_all, names[1]], patterns=["pilot-*"])[0].customers == 2
