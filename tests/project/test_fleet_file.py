"""Fleet files (`plume-fleet:fleetFile`): a CRM-shaped CSV, or YAML / JSON; validated with the
inline customers as one fleet, every problem named by file, row and column; rollout waves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plume_provider.fleet import FleetConfigError, load_fleet, write_fleet_file

CSV = """ACCOUNT ID,name,E-mail,wave,Protect,serial_number,Nickname
A-1,Ada,ada@example.org,1,yes,LAB-GW-0001,Hall
A-1,,,,,LAB-POD-0001,Study
A-2,Grace,grace@example.org,2,,,
A-3,Cafe,,3,no,LAB-GW-0003,
"""


def load(tmp_path: Path, text: str, name: str = "fleets/pilot.csv", **config: object):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    raw = {"fleetFile": name, **{k: json.dumps(v) for k, v in config.items()}}
    return load_fleet(raw, root=tmp_path)


def problems(tmp_path: Path, text: str, name: str = "fleets/pilot.csv", **config: object):
    with pytest.raises(FleetConfigError) as caught:
        load(tmp_path, text, name, **config)
    return caught.value.problems


def test_a_csv_row_per_node_groups_into_customers(tmp_path: Path) -> None:
    fleet = load(tmp_path, CSV)
    ada, grace, cafe = fleet.customers
    assert (ada.account_id, ada.name, ada.email, ada.wave, ada.protect) == (
        "A-1",
        "Ada",
        "ada@example.org",
        1,
        True,
    )
    assert [(n.serial_number, n.nickname) for n in ada.nodes] == [
        ("LAB-GW-0001", "Hall"),
        ("LAB-POD-0001", "Study"),
    ]
    assert grace.nodes == []
    assert grace.protect is None
    assert cafe.protect is False
    assert cafe.email is None
    assert [fleet.protects(c) for c in fleet.customers] == [True, False, False]
    assert fleet.deployed_wave == 3


def test_inline_and_file_customers_are_one_fleet(tmp_path: Path) -> None:
    fleet = load(tmp_path, CSV, customers=[{"accountId": "INLINE-1"}], protect=True)
    assert [c.account_id for c in fleet.customers] == ["INLINE-1", "A-1", "A-2", "A-3"]
    assert [fleet.protects(c) for c in fleet.customers] == [True, True, True, False]


def test_every_problem_names_file_row_and_column(tmp_path: Path) -> None:
    text = (
        "accountId,Name,email,wave,adopt,serialNumber\n"
        "A-1,Ada,not-an-email,0,maybe,LAB/GW\n"
        'A-2,The "Boss",b@example.org,,,LAB-GW-0002\n'
        "A-2,Other,,,,\n"
        ",x,,,,\n"
    )
    found = problems(tmp_path, text)
    starts = sorted(p.split(": ", 1)[0] for p in found)
    assert starts == sorted(
        [
            "fleets/pilot.csv:2:email",
            "fleets/pilot.csv:2:wave",
            "fleets/pilot.csv:2:adopt",
            "fleets/pilot.csv:2:serialNumber",
            "fleets/pilot.csv:3:Name",
            "fleets/pilot.csv:4:Name",
            "fleets/pilot.csv:5:accountId",
        ]
    )
    assert any("fleets/pilot.csv:4:Name: 'Other' differs from" in p for p in found)


def test_unknown_and_missing_columns(tmp_path: Path) -> None:
    assert problems(tmp_path, "accountId,emial\nA-1,a@example.org\n") == [
        "fleets/pilot.csv:1:emial: unknown column 'emial' (did you mean 'email'?); expected one "
        "of accountId, name, email, profile, acceptLanguage, onboardingCheckpoint, adopt, "
        "importId, protect, wave, shard, serialNumber, nickname"
    ]
    assert problems(tmp_path, "name\nAda\n")[0].startswith("fleets/pilot.csv:1: no accountId")


def test_duplicates_across_file_and_inline_are_caught(tmp_path: Path) -> None:
    inline = [{"accountId": "A-2", "nodes": [{"serialNumber": "LAB-GW-0001"}]}]
    found = problems(tmp_path, CSV, customers=inline)
    assert (
        "fleets/pilot.csv:4:ACCOUNT ID: accountId 'A-2' is already declared at "
        "customers[0].accountId"
    ) in found
    assert (
        "fleets/pilot.csv:2:serial_number: serial 'LAB-GW-0001' is already declared at "
        "customers[0].nodes[0].serialNumber"
    ) in found


def test_a_serial_twice_in_the_file(tmp_path: Path) -> None:
    text = "accountId,serialNumber\nA-1,LAB-GW-0001\nA-2,LAB-GW-0001\n"
    assert problems(tmp_path, text) == [
        "fleets/pilot.csv:3:serialNumber: serial 'LAB-GW-0001' is already declared at "
        "fleets/pilot.csv:2:serialNumber"
    ]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_yaml_and_json_files_are_the_stack_config_shape(tmp_path: Path, suffix: str) -> None:
    customers = [{"accountId": "A-1", "nodes": [{"serialNumber": "LAB-GW-0001"}]}]
    text = json.dumps({"customers": customers})
    fleet = load(tmp_path, text, f"fleets/pilot{suffix}")
    assert fleet.customers[0].nodes[0].serial_number == "LAB-GW-0001"
    bad = json.dumps([{"accountId": "A-1", "email": "nope"}])
    assert problems(tmp_path, bad, f"fleets/bad{suffix}")[0].startswith(
        f"fleets/bad{suffix}:customers[0].email: is not a well-formed email address"
    )


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(FleetConfigError) as caught:
        load_fleet({"fleetFile": "fleets/nope.csv"}, root=tmp_path)
    assert caught.value.problems == ["fleets/nope.csv: no such file (relative to the project)"]


@pytest.mark.parametrize("suffix", [".csv", ".yaml", ".json"])
def test_written_fleet_files_read_back(tmp_path: Path, suffix: str) -> None:
    fleet = load(tmp_path, CSV)
    customers = [c.model_dump(by_alias=True, exclude_defaults=True) for c in fleet.customers]
    write_fleet_file(tmp_path / f"out{suffix}", customers)
    again = load_fleet({"fleetFile": f"out{suffix}"}, root=tmp_path)
    assert again.customers == fleet.customers


def test_waves_select_the_customers_of_waves_up_to_the_stack_wave(tmp_path: Path) -> None:
    fleet = load(tmp_path, CSV, wave=2)
    assert [c.account_id for c in fleet.declared()] == ["A-1", "A-2"]
    assert fleet.uses_waves
    assert not load_fleet({}).uses_waves


def test_allow_shrink_is_retired_with_the_allowance_that_replaces_it(tmp_path: Path) -> None:
    with pytest.raises(FleetConfigError) as caught:
        load(tmp_path, CSV, wave=2, allowShrink=True)
    assert caught.value.problems == [
        "plume-fleet:allowShrink: replaced by plume-fleet:allowRemovals: N (or "
        "PLUME_FLEET_ALLOW_REMOVALS=N for one run), which allows exactly the N removals the "
        "refusal names; remove allowShrink"
    ]


def test_near_duplicate_accounts_and_emails_in_a_file_name_row_and_column(
    tmp_path: Path,
) -> None:
    """`A1`, ` A1` and `a1` are one account to a person and three households to Plume; two rows
    with one email in two cases would fail with a 422 half-way through an update."""
    text = (
        "accountId,name,email\n"
        "A1,Ada,ada@example.org\n"
        "a1,Ada again,other@example.org\n"
        "B-2,Bea,ADA@example.org\n"
    )
    found = problems(tmp_path, text)
    assert "fleets/pilot.csv:3:accountId: accountId 'a1' is already declared at " in "\n".join(
        found
    )
    assert any(
        p.startswith("fleets/pilot.csv:4:email: email 'ADA@example.org' is already declared at ")
        and p.endswith("as 'ada@example.org'")
        for p in found
    ), found
