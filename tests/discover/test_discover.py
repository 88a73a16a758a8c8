"""`plume-fleet discover` in process against the emulator: the calls it makes per customer, the
fleet file it writes, and a failed run resumed from its journal without repeating an answered
call. (tests/cli/test_discover.py runs it at scale, as a process, interrupted with SIGINT.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer
from plume_provider.discover import main
from tests.discover.conftest import CRM, api_calls


def test_fleet_file_report_and_calls(plume_env: EmulatorServer, tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(CRM)
    out = tmp_path / "fleet.yaml"
    assert main([str(tmp_path / "crm.csv"), "-o", str(out), "--no-progress"]) == 0

    import yaml

    fleet = {c["accountId"]: c for c in yaml.safe_load(out.read_text())["customers"]}
    assert fleet["OLD-1"]["importId"]
    assert fleet["OLD-1"]["protect"] is True
    assert fleet["OLD-1"]["nodes"] == [{"serialNumber": "LAB-GW-0201", "nickname": "Live"}]
    assert fleet["OLD-2"]["adopt"] is True
    assert "importId" not in fleet["OLD-2"]
    assert fleet["OLD-2"]["nodes"] == [{"serialNumber": "LAB-GW-0202", "nickname": "Live"}]
    assert fleet["NEW-1"] == {"accountId": "NEW-1", "name": "New One", "email": "new1@example.org"}
    with (tmp_path / "fleet.yaml.report.csv").open() as report:
        rows = [(r["accountId"], r["status"], r["serialNumber"]) for r in csv.DictReader(report)]
    assert rows == [
        ("OLD-1", "exists-matches", ""),
        ("OLD-2", "exists-differs", ""),
        ("OLD-2", "node-not-in-crm", "LAB-GW-0202"),
        ("NEW-1", "not-in-plume", ""),
        ("NEW-1", "node-claimed-elsewhere", "LAB-GW-0202"),
    ]
    search = "GET /api/Partners/customers/search/{value}"
    assert api_calls(plume_env) == {
        search: 3,
        "GET /api/Customers/{customerId}/locations": 2,
        "GET /api/Customers/{customerId}/locations/{locationId}/nodes": 2,
        "GET /api/Partners/nodes/{serialNumber}": 1,
    }


def test_a_failed_run_resumes_without_repeating_an_answered_call(
    plume_env: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "crm.csv").write_text(CRM)
    out = tmp_path / "fleet.csv"
    plume_env.set_faults(
        [{"method": "GET", "path": "/api/Partners/nodes/*", "status": 500, "times": None}]
    )
    assert main([str(tmp_path / "crm.csv"), "-o", str(out), "--no-progress"]) == 1
    assert "rerun the same command to continue" in capsys.readouterr().err
    assert not out.exists()
    journal = tmp_path / "fleet.csv.journal.jsonl"
    header, *answered = [json.loads(line) for line in journal.read_text().splitlines()]
    assert header["journal"] == "plume-fleet discover journal"
    assert [entry["call"] for entry in answered] == [
        "search",
        "locations",
        "nodes",
        "search",
        "locations",
        "nodes",
        "search",
    ]
    plume_env.clear_faults()
    plume_env.reset_stats()

    assert main([str(tmp_path / "crm.csv"), "-o", str(out), "--no-progress"]) == 0
    assert api_calls(plume_env) == {"GET /api/Partners/nodes/{serialNumber}": 1}
    assert "API calls: 1 made, 7 from the journal" in capsys.readouterr().out
    assert out.exists()


def test_an_email_differing_only_in_case_matches_as_up_compares_it(
    plume_env: EmulatorServer, tmp_path: Path
) -> None:
    """discover and `up` share one equality per field: the provider compares emails casefolded
    and sends no PATCH for a case-only difference, so discover must report the customer as
    matching (importId), not as differing (adopt: true, "up patches it")."""
    (tmp_path / "crm.csv").write_text("accountId,name,email\nOLD-1,Old One,OLD1@Example.org\n")
    out = tmp_path / "fleet.yaml"
    assert main([str(tmp_path / "crm.csv"), "-o", str(out), "--no-progress"]) == 0

    import yaml

    (found,) = yaml.safe_load(out.read_text())["customers"]
    assert found["importId"]
    assert "adopt" not in found
    with (tmp_path / "fleet.yaml.report.csv").open() as report:
        statuses = [(r["accountId"], r["status"]) for r in csv.DictReader(report)]
    assert ("OLD-1", "exists-matches") in statuses


def test_a_sharded_crm_file_is_read_whole_and_keeps_each_customer_s_shard(
    plume_env: EmulatorServer, tmp_path: Path
) -> None:
    """discover is a tool over the whole fleet: it sets no plume-fleet:shard, and the fleet
    file it writes keeps the shard of every customer for the stacks that declare them."""
    (tmp_path / "crm.csv").write_text(
        "accountId,name,shard\nOLD-1,Old One,north\nNEW-9,New Nine,south\n"
    )
    out = tmp_path / "fleet.csv"
    assert main([str(tmp_path / "crm.csv"), "-o", str(out), "--no-progress"]) == 0
    with out.open() as fleet:
        shards = {row["accountId"]: row["shard"] for row in csv.DictReader(fleet) if row["name"]}
    assert shards == {"OLD-1": "north", "NEW-9": "south"}
