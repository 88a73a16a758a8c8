"""Shards of one fleet file under the real CLI: stacks over one CSV each declare exactly the
customers of their `plume-fleet:shard`, and a file whose shards are wrong (a customer in two
shards, one in none) stops `preview` and `up` before any request reaches the emulator, naming
the rows; a customer moved to another shard is refused as a move, not removed."""

from __future__ import annotations

from pathlib import Path

from plume_emulator.testing import EmulatorServer
from plume_testkit.cli_lab import CliLab
from plume_testkit.shard_fleet import FLEET, Shards, fleet_rows, use_fleet

SHARDS: Shards = {
    "north": [("N-1", "North One", "LAB-GW-0201"), ("N-2", "North Two", "LAB-GW-0202")],
    "south": [("S-1", "South One", "LAB-GW-0211"), ("S-2", "South Two", "")],
}


def registered(lab: CliLab) -> int:
    return lab.mutating_calls()[("POST", "/api/Customers/register")]


def test_a_file_with_a_customer_in_two_shards_and_one_in_none_stops_before_any_request(
    cli_lab: CliLab,
) -> None:
    rows = [*fleet_rows(SHARDS), "N-1,,south,LAB-POD-0201", "X-1,Nobody,,LAB-GW-0299"]
    use_fleet(cli_lab, rows, shard="north")
    cli_lab.emulator.reset_stats()
    for run in (cli_lab.preview(check=False), cli_lab.up(check=False)):
        assert run.returncode != 0, run.output
        assert (
            f"{FLEET}:6:Shard: accountId 'N-1' is in shard 'south' on this row and in shard "
            "'north' on row 2"
        ) in run.output
        assert f"{FLEET}:7:Shard: no shard" in run.output
    assert cli_lab.emulator.stats()["requests"] == []  # no register, no claim, not even a token
    assert cli_lab.partner()["customers"] == []


def test_two_stacks_over_one_file_each_declare_exactly_their_shard(
    pulumi_cli: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    labs = {
        shard: CliLab(
            pulumi_cli, tmp_path / shard, emulator, emulator.credentials("lab-partner"), shard
        )
        for shard in SHARDS
    }
    try:
        for shard, lab in labs.items():
            use_fleet(lab, fleet_rows(SHARDS), shard)
            emulator.reset_stats()
            lab.up()
            assert registered(lab) == 2
            assert set(lab.outputs()["customers"]) == {a for a, _, _ in SHARDS[shard]}
        assert sorted(c["accountId"] for c in labs["north"].partner()["customers"]) == [
            "N-1",
            "N-2",
            "S-1",
            "S-2",
        ]
        assert set(labs["north"].claimed()) == {"LAB-GW-0201", "LAB-GW-0202", "LAB-GW-0211"}
        for lab in labs.values():
            assert lab.preview().changes == {}

        # N-2's shard cell edited to south: north would delete the household; it is refused
        moved = {
            **SHARDS,
            "north": SHARDS["north"][:1],
            "south": [*SHARDS["south"], SHARDS["north"][1]],
        }
        north = labs["north"]
        use_fleet(north, fleet_rows(moved), "north")
        emulator.reset_stats()
        refused = north.preview(check=False)
        assert refused.returncode != 0, refused.output
        assert "1 of them the fleet lists in another shard (N-2)" in refused.output
        assert "moving is done by reshard, not by removal" in refused.output
        assert emulator.stats()["requests"] == []
        assert len(north.partner()["customers"]) == 4
    finally:
        for lab in labs.values():
            lab.close()
