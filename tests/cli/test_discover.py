"""Brownfield at scale: an emulator seeded over its API with 300 existing customers (some with
nodes, some whose name or email differs from the CRM, a few of whose nodes the CRM lists at
another customer) and a CRM export of 350 customers (the 300 and 50 new).

`plume-fleet discover` (a real process, interrupted with SIGINT and rerun) writes a fleet file
and a report whose counts match the seeding; the real CLI's `pulumi up` on that fleet registers
only the 50, claims only their nodes, patches exactly the differing customers and renames exactly
the differing nicknames; `destroy` is refused for the discovered customers until protect is
lifted.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from plume_testkit.cli import VENV
from plume_testkit.cli_lab import CliLab
from plume_testkit.cli_run import CliRun
from plume_testkit.lab_view import client_env

REGISTER = "/api/Customers/register"
CUSTOMER = "/api/Customers/{customerId}"
NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"
RENAME = NODES + "/{nodeId}"

EXISTING, NEW = 300, 50
WITH_GATEWAY = range(1, 101)  # BF-0001..0100 have gateway LAB-GW-0101..0200 claimed
EXTRA_POD = range(51, 56)  # ... and 51..55 an extender the CRM does not list
MOVED = {1: 201, 2: 202, 3: 203}  # the CRM lists BF-000i's gateway at BF-020x instead
NICKNAME_CHANGED = (10, 20)
NEW_WITH_GATEWAY = range(1, 11)  # NEW-001..010 with unclaimed gateways LAB-GW-0301..0310
NEW_UNKNOWN_SERIAL = (11, 12)  # NEW-011, 012 list serials not in inventory


def name_differs(i: int) -> bool:
    return i % 10 == 0


def email_differs(i: int) -> bool:
    return i % 25 == 0


DIFFERING = {i for i in range(1, EXISTING + 1) if name_differs(i) or email_differs(i)}


def account(i: int) -> str:
    return f"BF-{i:04d}"


def gateway(i: int) -> str:
    return f"LAB-GW-{100 + i:04d}"


def seed(lab: CliLab) -> None:
    api = lab.api
    for i in range(1, EXISTING + 1):
        answer = api.post(
            "/Customers/register",
            json={
                "partnerId": lab.credentials.partner_id,
                "accountId": account(i),
                "name": f"Customer {i}",
                "email": f"bf-{i}@example.org",
            },
        )
        answer.raise_for_status()
        customer = answer.json()
        where = f"/Customers/{customer['id']}/locations/{customer['locationId']}/nodes"
        if i in WITH_GATEWAY:
            api.post(where, json={"serialNumber": gateway(i), "nickname": f"GW {i}"})
        if i in EXTRA_POD:
            api.post(where, json={"serialNumber": f"LAB-POD-{i:04d}", "nickname": f"Pod {i}"})


def crm_rows() -> list[dict[str, str]]:
    rows = []
    moved_to = {target: source for source, target in MOVED.items()}
    for i in range(1, EXISTING + 1):
        name = f"Customer {i} (CRM)" if name_differs(i) else f"Customer {i}"
        email = f"crm-{i}@example.org" if email_differs(i) else f"bf-{i}@example.org"
        row = {"Account ID": account(i), "Customer Name": name, "E-Mail": email}
        if i in WITH_GATEWAY and i not in MOVED:
            row["Serial Number"] = gateway(i)
            nick = "Renamed GW" if i in NICKNAME_CHANGED else f"GW {i}"
            row["Nickname"] = nick if i <= 50 or i in NICKNAME_CHANGED else ""
        if i in moved_to:
            row["Serial Number"] = gateway(moved_to[i])
        rows.append(row)
    for k in range(1, NEW + 1):
        row = {"Account ID": f"NEW-{k:03d}", "Customer Name": f"New {k}"}
        row["E-Mail"] = f"new-{k}@example.org"
        if k in NEW_WITH_GATEWAY:
            row["Serial Number"] = f"LAB-GW-{300 + k:04d}"
        if k in NEW_UNKNOWN_SERIAL:
            row["Serial Number"] = f"NOPE-{k:04d}"
        rows.append(row)
    return rows


def write_crm(path: Path) -> None:
    columns = ["Account ID", "Customer Name", "E-Mail", "Serial Number", "Nickname"]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, columns, restval="")
        writer.writeheader()
        writer.writerows(crm_rows())


def answers(journal: Path) -> list[str]:
    """The journal's answer lines (its first line binds it to the settings, see
    `discover.journal`)."""
    return journal.read_text().splitlines()[1:] if journal.exists() else []


def discover_cmd(crm: Path, out: Path) -> list[str]:
    return [
        str(VENV / "bin" / "plume-fleet"),
        "discover",
        str(crm),
        "-o",
        str(out),
        "--no-progress",
    ]


def discover_env(lab: CliLab, rate: float) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PLUME_")}
    return {**keep, **client_env(lab.credentials, PLUME_REQUESTS_PER_SECOND=str(rate))}


def up_on(lab: CliLab, discovered: Path) -> CliRun:
    """`pulumi up` with the fleet file discover wrote as the stack's fleet, counts reset."""
    fleets = lab.project / "fleets"
    fleets.mkdir()
    shutil.copy(discovered, fleets / "discovered.csv")
    lab.config.pop("plume-fleet:customers")
    lab.config["plume-fleet:fleetFile"] = "fleets/discovered.csv"
    lab.emulator.reset_stats()
    return lab.up()


def api_calls(lab: CliLab) -> int:
    return sum(n for key, n in lab.api_requests().items())


@pytest.mark.timeout(1500)
def test_discover_then_up_brings_the_fleet_under_code(cli_lab: CliLab, tmp_path: Path) -> None:
    seed(cli_lab)
    crm = tmp_path / "crm.csv"
    write_crm(crm)
    out = tmp_path / "discovered.csv"
    journal = tmp_path / "discovered.csv.journal.jsonl"
    cli_lab.emulator.reset_stats()

    # An interrupted run (Ctrl-C) and its rerun repeat no answered call.
    first = subprocess.Popen(
        discover_cmd(crm, out),
        env=discover_env(cli_lab, rate=60),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(answers(journal)) >= 100:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    _, first_err = first.communicate(timeout=30)
    assert first.returncode == 130, first_err
    assert "rerun the same command to continue" in first_err
    assert not out.exists()
    journaled = len(answers(journal))
    assert journaled >= 100
    calls_first = api_calls(cli_lab)
    assert journaled <= calls_first <= journaled + 1  # the call in flight at Ctrl-C, if any

    second = subprocess.run(
        discover_cmd(crm, out),
        env=discover_env(cli_lab, rate=0),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    total = len(answers(journal))
    assert f"from the journal {journal}" in second.stdout
    assert api_calls(cli_lab) - calls_first == total - journaled  # nothing answered twice
    # The minimal calls: search for each, locations and node list for each existing one, a
    # lookup per CRM serial not claimed at its customer (3 moved, 10 + 2 of the new customers).
    assert Counter(line.split('"key"')[0] for line in answers(journal)) == {
        '{"call": "search", ': EXISTING + NEW,
        '{"call": "locations", ': EXISTING,
        '{"call": "nodes", ': EXISTING,
        '{"call": "lookup", ': len(MOVED) + len(NEW_WITH_GATEWAY) + len(NEW_UNKNOWN_SERIAL),
    }

    # The report.
    with (tmp_path / "discovered.csv.report.csv").open() as report_file:
        report = list(csv.DictReader(report_file))
    statuses = Counter(row["status"] for row in report)
    per_customer = {
        row["accountId"]: row["status"]
        for row in report
        if row["status"] in ("exists-matches", "exists-differs", "not-in-plume")
    }
    assert Counter(per_customer.values()) == {
        "exists-matches": EXISTING - len(DIFFERING),
        "exists-differs": len(DIFFERING),
        "not-in-plume": NEW,
    }
    assert statuses["node-claimed-elsewhere"] == len(MOVED)
    assert statuses["node-not-in-inventory"] == len(NEW_UNKNOWN_SERIAL)
    assert statuses["node-not-in-crm"] == len(MOVED) + len(EXTRA_POD)
    assert statuses["nickname-differs"] == len(NICKNAME_CHANGED)
    assert statuses["node-to-claim"] == len(NEW_WITH_GATEWAY)
    differs = {(r["accountId"], r["field"]) for r in report if r["status"] == "exists-differs"}
    assert differs == {(account(i), "name") for i in DIFFERING if name_differs(i)} | {
        (account(i), "email") for i in DIFFERING if email_differs(i)
    }
    assert "exist and differ" in second.stdout

    # The fleet file.
    with out.open() as fleet_file:
        fleet = list(csv.DictReader(fleet_file))
    first_rows = {row["accountId"]: row for row in fleet if row["name"]}
    assert len(first_rows) == EXISTING + NEW
    for i in range(1, EXISTING + 1):
        row = first_rows[account(i)]
        assert row["protect"] == "true"
        if i in DIFFERING:
            assert (row["adopt"], row["importId"]) == ("true", "")
        else:
            assert row["adopt"] == ""
            assert row["importId"]
    for k in range(1, NEW + 1):
        row = first_rows[f"NEW-{k:03d}"]
        assert (row["importId"], row["adopt"], row["protect"]) == ("", "", "")
    serials = {row["serialNumber"]: row for row in fleet if row["serialNumber"]}
    assert serials[gateway(60)]["nickname"] == "GW 60"  # live nickname where the CRM has none
    assert serials[gateway(1)]["accountId"] == account(1)  # kept where it is claimed
    assert f"NOPE-{NEW_UNKNOWN_SERIAL[0]:04d}" not in serials

    # pulumi up on it: registers the 50, claims only their nodes, patches exactly the differing.
    up = up_on(cli_lab, out)
    customers_declared = EXISTING + NEW
    nodes_declared = len(WITH_GATEWAY) + len(EXTRA_POD) + len(NEW_WITH_GATEWAY)
    assert up.changes == {"create": customers_declared + nodes_declared}
    mutating = cli_lab.mutating_calls()
    assert mutating == {
        ("POST", REGISTER): NEW,
        ("POST", NODES): len(NEW_WITH_GATEWAY),
        ("PATCH", CUSTOMER): len(DIFFERING),
        ("PUT", RENAME): len(NICKNAME_CHANGED),
    }
    live = {c["accountId"]: c for c in cli_lab.partner()["customers"]}
    assert len(live) == EXISTING + NEW
    assert live[account(10)]["name"] == "Customer 10 (CRM)"
    assert live[account(25)]["email"] == "crm-25@example.org"
    assert cli_lab.claimed()[gateway(1)] == live[account(1)]["id"]

    # destroy is refused for the discovered customers (and their nodes) until protect is lifted;
    # it deletes what is not protected: the new customers and their nodes.
    refused = cli_lab.destroy(check=False)
    assert refused.returncode != 0
    assert "protect" in refused.output
    remaining = {c["accountId"] for c in cli_lab.partner()["customers"]}
    assert remaining == {account(i) for i in range(1, EXISTING + 1)}
    claimed = cli_lab.claimed()
    assert {gateway(i) for i in WITH_GATEWAY} <= set(claimed)
    assert not any(serial.startswith("LAB-GW-03") for serial in claimed)  # the new ones' went

    for urn in (cli_lab.customer_urn(account(1)), cli_lab.node_urn(gateway(1))):
        cli_lab.pulumi("state", "unprotect", urn, "--yes", "--stack", cli_lab.stack)
    lifted = cli_lab.destroy(check=False)
    assert lifted.returncode != 0  # the other 299 are still protected
    assert sorted(lifted.urns("delete")) == sorted(
        [cli_lab.customer_urn(account(1)), cli_lab.node_urn(gateway(1))]
    )
    remaining = {c["accountId"] for c in cli_lab.partner()["customers"]}
    assert remaining == {account(i) for i in range(2, EXISTING + 1)}


def test_discover_refuses_a_bad_crm_file_before_any_call(cli_lab: CliLab, tmp_path: Path) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("accountId,emial\nA-1,a@example.org\nA-2,\n,x\n")
    cli_lab.emulator.reset_stats()
    done = subprocess.run(
        discover_cmd(crm, tmp_path / "out.csv"),
        env=discover_env(cli_lab, rate=0),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "nothing was called" in done.stderr
    assert f"{crm}:1:emial: unknown column 'emial' (did you mean 'email'?)" in done.stderr
    assert f"{crm}:4:accountId: accountId is empty" in done.stderr
    assert cli_lab.emulator.stats()["requests"] == []


def run_discover(lab: CliLab, crm: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        discover_cmd(crm, out),
        env={**discover_env(lab, rate=0), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_email_differing_only_in_case_matches_and_up_patches_nothing(
    cli_lab: CliLab, tmp_path: Path
) -> None:
    """discover and `up` compare by the one equality of the field table: a CRM email that
    differs from the live one only in case is reported matching (importId), and `up` on the
    written fleet file sends no PATCH (nor any other change)."""
    seed_one = cli_lab.api.post(
        "/Customers/register",
        json={
            "partnerId": cli_lab.credentials.partner_id,
            "accountId": "CASE-1",
            "name": "Case One",
            "email": "case.one@example.org",
        },
    )
    seed_one.raise_for_status()
    crm = tmp_path / "crm.csv"
    crm.write_text("accountId,name,email\nCASE-1,Case One,Case.One@Example.ORG\n")
    out = tmp_path / "discovered.csv"
    done = run_discover(cli_lab, crm, out)
    assert done.returncode == 0, done.stderr
    with (tmp_path / "discovered.csv.report.csv").open() as report:
        assert [(r["accountId"], r["status"]) for r in csv.DictReader(report)] == [
            ("CASE-1", "exists-matches")
        ]
    up = up_on(cli_lab, out)
    assert up.changes == {"create": 1}  # the import
    assert cli_lab.mutating_calls() == {}
    assert cli_lab.preview().changes == {}


def test_a_journal_from_another_partner_or_with_a_corrupt_line_is_refused_in_one_line(
    cli_lab: CliLab, tmp_path: Path
) -> None:
    """A journal answers only for the partner, cloud and CRM file it was made for, and a line of
    it that is not a journaled answer is one error naming file:line; both before any call."""
    crm = tmp_path / "crm.csv"
    crm.write_text("accountId,name\nJ-1,Journal One\nJ-2,Journal Two\n")
    out = tmp_path / "discovered.csv"
    journal = tmp_path / "discovered.csv.journal.jsonl"
    assert run_discover(cli_lab, crm, out).returncode == 0
    cli_lab.emulator.reset_stats()

    other = run_discover(cli_lab, crm, out, PLUME_PARTNER_ID="another-partner")
    assert other.returncode == 2
    [line] = other.stderr.splitlines()
    assert f"journal {journal}: made for partner {cli_lab.credentials.partner_id!r}" in line
    assert "delete it to look everything up afresh" in line

    lines = journal.read_text().splitlines()
    journal.write_text("\n".join([*lines[:2], "{}", *lines[2:]]) + "\n")
    corrupt = run_discover(cli_lab, crm, out)
    assert corrupt.returncode == 2
    [line] = corrupt.stderr.splitlines()
    assert f"journal {journal}:3: not a journaled answer; delete this line" in line
    assert cli_lab.emulator.stats()["requests"] == []
