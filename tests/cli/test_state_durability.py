"""A killed update never leaves the file backend's state unreadable.

The CLI's blob driver (gocloud.dev fileblob) writes each state file to a temporary file and
renames it into place, which a kill cannot tear; but beside each file it keeps a metadata
sidecar (`<file>.attrs`) that it truncates and then writes in place. A kill between the two
leaves an empty sidecar, and every later read of the stack fails with "failed to load
checkpoint: EOF" although the checkpoint itself is intact. Our file backends run with
`?metadata=skip` (no sidecars); a state written without it is repaired by deleting the empty
sidecars (README, Troubleshooting; docs/upstream.md).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from plume_testkit.cli_lab import CliLab
from plume_testkit.cli_run import CliError
from tests.cli.test_secrets_and_faults import _kill_up_when

REPAIR = ["find", ".pulumi", "-name", "*.attrs", "-size", "0", "-delete"]


def _state(lab: CliLab) -> Path:
    return lab.root / "state"


def _api_requests_reach(lab: CliLab, count: int) -> Callable[[], bool]:
    def ready() -> bool:
        rows = lab.emulator.stats()["requests"]
        return sum(r["count"] for r in rows if str(r["route"]).startswith("/api")) >= count

    return ready


def test_the_file_backend_writes_no_metadata_sidecars(cli_lab: CliLab) -> None:
    cli_lab.up()
    cli_lab.up()
    assert cli_lab.env["PULUMI_BACKEND_URL"].endswith("?metadata=skip")
    written = sorted(p.name for p in _state(cli_lab).rglob("*") if p.is_file())
    assert any(name == "lab.json" for name in written)
    assert [name for name in written if name.endswith(".attrs")] == []


def test_an_empty_sidecar_is_what_makes_a_state_unreadable_and_deleting_it_repairs_it(
    cli_lab: CliLab,
) -> None:
    """Pins the upstream behaviour the `?metadata=skip` avoids: on a plain `file://` URL an
    empty sidecar (what a kill between its truncation and its write leaves) makes the stack
    unreadable; the documented command brings it back with nothing lost."""
    cli_lab.env["PULUMI_BACKEND_URL"] = f"file://{_state(cli_lab)}"
    cli_lab.up()
    checkpoint = _state(cli_lab) / ".pulumi" / "stacks" / "plume-fleet" / "lab.json"
    sidecar = checkpoint.with_name("lab.json.attrs")
    assert sidecar.is_file()
    sidecar.write_bytes(b"")

    with pytest.raises(CliError) as unreadable:
        cli_lab.export()
    assert "failed to load checkpoint: EOF" in unreadable.value.run.output

    subprocess.run(REPAIR, cwd=_state(cli_lab), check=True)
    assert not sidecar.exists()
    resources = cli_lab.export()["deployment"]["resources"]
    assert len(resources) == 2 + 3 + 7  # stack, provider, 3 customers, 7 nodes
    assert cli_lab.up().changes == {}


@pytest.mark.timeout(900)
def test_a_kill_at_any_point_of_an_up_leaves_the_state_readable_and_the_fleet_whole(
    cli_lab: CliLab,
) -> None:
    """Five SIGKILLs of the whole process tree, each run killed later than the one before
    (after 1 to 5 of its API requests, each held 0.2 s so the kill lands mid-update); after each
    the state must load, and the CLI's recovery path (cancel, clear the pending creates, up)
    must end with each household once."""
    customers = [{**c, "adopt": True} for c in cli_lab.customers]  # reruns take over, never twice
    cli_lab.set_customers(customers)
    for requests in (1, 2, 3, 4, 5):
        cli_lab.emulator.reset_stats()
        cli_lab.emulator.set_faults([{"method": "*", "path": "/api/*", "delay_ms": 200}])
        _kill_up_when(cli_lab, _api_requests_reach(cli_lab, requests))
        cli_lab.export()  # raises CliError when the state cannot be loaded
        cli_lab.pulumi("cancel", "--yes", "--stack", "lab")
        cli_lab.refresh("--clear-pending-creates")

    cli_lab.up()
    accounts = [c["accountId"] for c in cli_lab.partner()["customers"]]
    assert sorted(accounts) == sorted(c["accountId"] for c in customers)
    assert set(cli_lab.claimed()) == cli_lab.serials()
    assert cli_lab.up().changes == {}
