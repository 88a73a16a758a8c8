"""Shards of one fleet file (`plume-fleet:shard`): every stack validates the whole file, each
declares only its shard's customers (the wave within the shard), and a customer leaving the
shard is a removal the guard refuses as a move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plume_provider.fleet import Fleet, FleetConfigError, load_fleet
from plume_provider.fleet.removals import Allowance, plan_fleet, removal_problem
from plume_provider.fleet.stack_state import ManagedCustomer, StackState

HEADER = "accountId,name,shard,wave,serialNumber"
SHARDED = f"""{HEADER}
N-1,North One,north,1,LAB-GW-0001
N-2,North Two,north,2,LAB-GW-0002
N-3,North Three,north,1,
S-1,South One,south,1,LAB-GW-0011
S-2,South Two,south,2,
"""


def load(tmp_path: Path, text: str, name: str = "fleets/x.csv", **config: object) -> Fleet:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    raw: dict[str, str | None] = {"fleetFile": name}
    for key, value in config.items():
        raw[key] = value if isinstance(value, str) else json.dumps(value)
    return load_fleet(raw, root=tmp_path)


def problems(tmp_path: Path, text: str, name: str = "fleets/x.csv", **config: object) -> list[str]:
    with pytest.raises(FleetConfigError) as caught:
        load(tmp_path, text, name, **config)
    return caught.value.problems


def accounts(fleet: Fleet) -> list[str]:
    return [c.account_id for c in fleet.declared()]


def test_a_stack_declares_exactly_the_customers_of_its_shard(tmp_path: Path) -> None:
    north = load(tmp_path, SHARDED, shard="north")
    assert accounts(north) == ["N-1", "N-2", "N-3"]
    assert len(north.customers) == 5  # the whole file was read and validated
    assert accounts(load(tmp_path, SHARDED, shard="south")) == ["S-1", "S-2"]


def test_the_shard_selects_first_and_the_wave_within_it(tmp_path: Path) -> None:
    assert accounts(load(tmp_path, SHARDED, shard="north", wave=1)) == ["N-1", "N-3"]
    south = load(tmp_path, SHARDED, shard="south", wave=1)
    assert accounts(south) == ["S-1"]
    # unset wave: the shard's own highest wave, not another shard's
    text = SHARDED.replace("S-2,South Two,south,2,", "S-2,South Two,south,1,").replace(
        "N-2,North Two,north,2,", "N-2,North Two,north,3,"
    )
    assert load(tmp_path, text, shard="south").deployed_wave == 1


def test_a_customer_without_a_shard_is_named_by_file_and_row(tmp_path: Path) -> None:
    text = SHARDED + "X-1,Nobody,,1,LAB-GW-0099\n"
    found = problems(tmp_path, text, shard="north")
    assert found == [
        "fleets/x.csv:7:shard: no shard; this fleet is sharded: give every customer the shard "
        "whose stack declares it"
    ]


def test_a_customer_in_two_shards_is_named_on_both_rows(tmp_path: Path) -> None:
    # the same accountId on two rows: one customer, two shard cells
    text = SHARDED + "N-1,,south,,LAB-POD-0001\n"
    assert problems(tmp_path, text, shard="north") == [
        "fleets/x.csv:7:shard: accountId 'N-1' is in shard 'south' on this row and in shard "
        "'north' on row 2; a customer belongs to one shard: keep one of the two"
    ]


def test_an_account_in_two_shards_under_another_case_is_named_on_both_rows(
    tmp_path: Path,
) -> None:
    found = problems(tmp_path, SHARDED + " n-1 ,Again,south,1,\n", shard="south")
    assert (
        "fleets/x.csv:7:shard: accountId 'n-1' is in shard 'south' here and in shard 'north' at "
        "fleets/x.csv:2:shard; a customer belongs to one shard: keep one of the two"
    ) in found


def test_a_json_account_in_two_shards_is_named_at_both_entries(tmp_path: Path) -> None:
    customers = [{"accountId": "A-1", "shard": "a"}, {"accountId": "A-1", "shard": "b"}]
    found = problems(tmp_path, json.dumps(customers), "fleets/x.json", shard="a")
    assert (
        "fleets/x.json:customers[1].shard: accountId 'A-1' is in shard 'b' here and in shard "
        "'a' at fleets/x.json:customers[0].shard; a customer belongs to one shard: keep one of "
        "the two"
    ) in found


def test_an_unknown_shard_names_the_likely_one_and_the_shards_there_are(tmp_path: Path) -> None:
    assert problems(tmp_path, SHARDED, shard="nort") == [
        "plume-fleet:shard: shard 'nort' has no customer in the fleet (did you mean 'north'?); "
        "its shards are north, south"
    ]


def test_the_shards_listed_are_a_few_of_many(tmp_path: Path) -> None:
    text = HEADER + "\n" + "".join(f"A-{i:02d},,s{i:02d},,\n" for i in range(25))
    (found,) = problems(tmp_path, text, shard="zz")
    assert found.endswith(
        "its shards are s00, s01, s02, s03, s04, s05, s06, s07, s08, s09, ... and 15 more"
    )


@pytest.mark.parametrize("name", ["North", "-north", "north_1", "n" * 64, "", "nörth"])
def test_an_invalid_shard_name_says_the_rule(tmp_path: Path, name: str) -> None:
    rule = "a shard name is 1-63 lowercase letters, digits and '-', starting with a letter or digit"
    assert any(
        p.startswith(f"shard: shard name {name!r} is not valid: {rule}")
        for p in problems(tmp_path, SHARDED, shard=name)
    )
    in_file = SHARDED.replace("S-2,South Two,south", f"S-2,South Two,{name}")
    if name:  # an empty cell is no shard at all
        assert f"fleets/x.csv:6:shard: shard name {name!r} is not valid: {rule}" in " ".join(
            problems(tmp_path, in_file, shard="north")
        )


def test_a_numeric_shard_name_stays_text(tmp_path: Path) -> None:
    text = f"{HEADER}\nA-1,,07,,\nA-2,,1,,\n"
    assert accounts(load(tmp_path, text, shard="07")) == ["A-1"]
    assert accounts(load(tmp_path, text, shard="1")) == ["A-2"]


def test_a_sharded_file_without_plume_fleet_shard_is_refused_in_one_message(
    tmp_path: Path,
) -> None:
    assert problems(tmp_path, SHARDED) == [
        "plume-fleet:shard: not set, but this fleet is sharded (2 shard(s): north, south); set "
        "plume-fleet:shard to the shard this stack declares (a stack never declares every shard)"
    ]


def test_a_tool_may_read_a_sharded_file_whole(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text(SHARDED)
    fleet = load_fleet({"fleetFile": "x.csv"}, root=tmp_path, every_shard=True)
    assert accounts(fleet) == ["N-1", "N-2", "N-3", "S-1", "S-2"]


def test_plume_fleet_shard_over_a_fleet_without_shards_is_refused(tmp_path: Path) -> None:
    text = f"{HEADER}\nA-1,,,,\n"
    assert problems(tmp_path, text, shard="north") == [
        "plume-fleet:shard: is 'north', but no customer of the fleet names a shard; give every "
        "customer its shard (a `shard` column of the fleet file, or key), or remove "
        "plume-fleet:shard"
    ]


def test_an_unsharded_fleet_is_declared_whole_as_before(tmp_path: Path) -> None:
    text = f"{HEADER}\nA-1,,,,\nA-2,,,2,\n"
    assert accounts(load(tmp_path, text)) == ["A-1", "A-2"]


def test_inline_customers_follow_the_same_shard_rules(tmp_path: Path) -> None:
    inline = [{"accountId": "I-1"}, {"accountId": "I-2", "shard": "north"}]
    found = problems(tmp_path, SHARDED, customers=inline, shard="north")
    assert found == [
        "customers[0].shard: no shard; this fleet is sharded: give every customer the shard "
        "whose stack declares it"
    ]


def test_a_customer_leaving_the_shard_is_a_removal_refused_as_a_move(tmp_path: Path) -> None:
    managed = {a: ManagedCustomer(a, f"c-{a}", False) for a in ("N-1", "N-2", "N-3")}
    moved = SHARDED.replace("N-3,North Three,north", "N-3,North Three,south")
    plan = plan_fleet(load(tmp_path, moved, shard="north"), StackState(managed))
    assert plan.removed_customers == ("N-3",)
    assert plan.moved == ("N-3",)
    problem = removal_problem(plan, Allowance(None, ""))
    assert problem is not None
    assert (
        "1 of them the fleet lists in another shard (N-3): a shard change moves customers to "
        "another stack, and moving is done by reshard, not by removal"
    ) in problem
    # a customer gone from the file is a plain removal, within the budget
    gone = "\n".join(line for line in SHARDED.splitlines() if not line.startswith("N-3"))
    plan = plan_fleet(load(tmp_path, gone + "\n", shard="north"), StackState(managed))
    assert (plan.removed_customers, plan.moved) == (("N-3",), ())
    assert removal_problem(plan, Allowance(None, "")) is None
