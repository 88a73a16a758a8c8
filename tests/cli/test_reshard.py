"""`plume-fleet reshard` under the real CLI, as a real process: two stacks of one project and
backend (shards north and south) over one fleet file; customers whose shard cell changed move
with their nodes from one stack's state to the other's, and Plume sees not one request; a
reshard that cannot place every customer (a shard with no stack), or meets a locked stack,
moves nothing; a new shard's stack, created and never updated, takes its customers."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer
from plume_testkit.cli_lab import CliLab
from plume_testkit.cli_run import CliRun
from plume_testkit.shard_fleet import FLEET, Shards, fleet_rows, use_fleet

PLUME_FLEET = Path(sys.executable).with_name("plume-fleet")
NORTH = [
    (f"N-{i}", f"North {i}", serial)
    for i in range(1, 8)
    for serial in (f"LAB-GW-{300 + i:04d}", f"LAB-POD-{300 + i:04d}")
]
SOUTH = [("S-1", "South 1", "LAB-GW-0311"), ("S-2", "South 2", "")]
MOVED = ["N-1", "N-2", "N-3", "N-4", "N-5"]


@pytest.fixture
def labs(pulumi_cli: Path, emulator: EmulatorServer, tmp_path: Path) -> Iterator[dict[str, CliLab]]:
    """Stacks north and south of one project and backend, over `FLEET`, both up."""
    credentials = emulator.credentials("lab-partner")
    north = CliLab(pulumi_cli, tmp_path, emulator, credentials, "north")
    south = CliLab(pulumi_cli, tmp_path, emulator, credentials, "south", beside=north)
    shards: Shards = {"north": NORTH, "south": SOUTH}
    try:
        for shard, lab in (("north", north), ("south", south)):
            use_fleet(lab, fleet_rows(shards), shard)
            lab.up()
        yield {"north": north, "south": south}
    finally:
        north.close()
        south.close()


def move(shards: Shards, accounts: list[str], to: str) -> Shards:
    """`shards` with `accounts`' rows in shard `to`."""
    rows = [r for rows in shards.values() for r in rows if r[0] in accounts]
    kept = {s: [r for r in rows_ if r[0] not in accounts] for s, rows_ in shards.items()}
    return {**kept, to: [*kept.get(to, []), *rows]}


def write_fleet(lab: CliLab, shards: Shards) -> None:
    """The shared fleet file now says `shards` (`lab` keeps its shard)."""
    use_fleet(lab, fleet_rows(shards), lab.stack)


def reshard(lab: CliLab, *args: str, stdin: int = subprocess.DEVNULL) -> CliRun:
    """`plume-fleet reshard` as the operator runs it, in the project, with the lab's CLI env;
    `stdin` (default: nothing, no terminal) a file descriptor to read from."""
    done = subprocess.run(
        [str(PLUME_FLEET), "reshard", *args],
        cwd=lab.project,
        env=lab.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=stdin,
    )
    return CliRun(["reshard", *args], done.returncode, done.stdout, done.stderr)


def assert_unchanged(preview: CliRun) -> None:
    """The engine plans nothing but `same`: no Plume resource, provider or stack changes."""
    assert set(preview.summary) == {"same"}, preview.output
    assert preview.changes == {}, preview.output


def serials(accounts: list[str]) -> list[str]:
    return [serial for a, _, serial in NORTH if a in accounts]


def test_five_customers_move_with_their_nodes_and_plume_sees_no_request(
    labs: dict[str, CliLab], emulator: EmulatorServer
) -> None:
    north, south = labs["north"], labs["south"]
    before = {a: north.customer_id(a) for a in MOVED}
    write_fleet(north, move({"north": NORTH, "south": SOUTH}, MOVED, "south"))
    emulator.reset_stats()

    plan = reshard(north, "--dry-run")
    assert plan.returncode == 0, plan.output
    assert "north -> south (shard south): 5 customer(s), 10 node(s)" in plan.output
    assert "customer N-1: LAB-GW-0301, LAB-POD-0301" in plan.output
    assert "dry run: nothing was moved" in plan.output
    unasked = reshard(north)  # no terminal to ask on, no --yes
    assert unasked.returncode == 1, unasked.output
    assert "pass --yes to move" in unasked.output
    assert set(north.resources()) >= {north.customer_urn(a) for a in MOVED}

    done = reshard(north, "--yes")
    assert done.returncode == 0, done.output
    assert "moved: 5 customer(s): N-1, N-2, N-3, N-4, N-5" in done.output
    assert emulator.stats()["requests"] == []  # no register, claim, DELETE: not even a token

    in_north, in_south = north.resources(), south.resources()
    provider = in_south[south.customer_urn("S-1")]["provider"]
    for a in MOVED:
        assert north.customer_urn(a) not in in_north
        assert south.customer_urn(a) in in_south
        assert in_south[south.customer_urn(a)]["id"] == before[a]
        # the destination's own provider, as its customers of before have
        assert in_south[south.customer_urn(a)]["provider"] == provider
    for serial in serials(MOVED):
        assert north.node_urn(serial) not in in_north
        assert south.node_urn(serial) in in_south
    assert {north.customer_urn(a) for a in ("N-6", "N-7")} <= set(in_north)

    for lab in (north, south):
        assert_unchanged(lab.preview())
    for lab in (north, south):
        assert lab.up().changes == {}
    assert north.mutating_calls() == {}
    assert set(south.outputs()["customers"]) == {"S-1", "S-2", *MOVED}
    assert len(north.partner()["customers"]) == 9

    again = reshard(north, "--yes")
    assert again.returncode == 0, again.output
    assert "nothing to move" in again.output


def test_a_shard_with_no_stack_refuses_the_whole_reshard_until_its_stack_exists(
    labs: dict[str, CliLab], emulator: EmulatorServer
) -> None:
    north = labs["north"]
    shards = move(move({"north": NORTH, "south": SOUTH}, ["N-1"], "south"), ["N-2"], "east")
    write_fleet(north, shards)
    exported = {name: lab.resources() for name, lab in labs.items()}
    emulator.reset_stats()

    refused = reshard(north, "--yes")
    assert refused.returncode == 1, refused.output
    assert (
        f"customer N-2 (stack north) is now in shard 'east' of {FLEET}, which no stack "
        "declares: create that stack first"
    ) in refused.output
    assert "nothing was moved" in refused.output
    assert {name: lab.resources() for name, lab in labs.items()} == exported  # N-1 stayed too

    # the new shard's stack, created and never updated, takes its customer
    east = CliLab(north.cli, north.root, emulator, north.credentials, "east", beside=north)
    try:
        use_fleet(east, fleet_rows(shards), "east")
        east.write_config()
        done = reshard(north, "--yes")
        assert done.returncode == 0, done.output
        assert east.customer_urn("N-2") in east.resources()
        assert labs["south"].customer_urn("N-1") in labs["south"].resources()
        assert emulator.stats()["requests"] == []
        for lab in (*labs.values(), east):
            assert_unchanged(lab.preview())
    finally:
        east.close()


def test_a_locked_destination_stops_the_move_and_says_what_moved(
    labs: dict[str, CliLab], emulator: EmulatorServer
) -> None:
    north, south = labs["north"], labs["south"]
    write_fleet(north, move({"north": NORTH, "south": SOUTH}, MOVED, "south"))
    # the lock an `up` of south holds while it runs (the file backend's lock file)
    lock = north.root / "state/.pulumi/locks/organization/plume-fleet/south/held-by-up.json"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "username": "operator",
                "hostname": socket.gethostname(),
                "timestamp": datetime.now(UTC).isoformat(),
            }
        )
    )
    exported = {name: lab.resources() for name, lab in labs.items()}
    emulator.reset_stats()

    stopped = reshard(north, "--yes")
    assert stopped.returncode == 1, stopped.output
    assert "the stack is currently locked" in stopped.output
    assert "let it finish" in stopped.output
    assert "moved: 0 customer(s)" in stopped.output
    assert "not moved: 5 customer(s): N-1, N-2, N-3, N-4, N-5" in stopped.output
    assert south.customer_urn("N-1") not in south.resources()
    assert set(north.resources()) == set(exported["north"])
    write_fleet(north, {"north": NORTH, "south": SOUTH})  # as before the edit:
    assert_unchanged(north.preview())  # the provider ID aligned before the move changes nothing

    write_fleet(north, move({"north": NORTH, "south": SOUTH}, MOVED, "south"))
    lock.unlink()
    done = reshard(north, "--yes")
    assert done.returncode == 0, done.output
    assert emulator.stats()["requests"] == []


def reshard_at_a_terminal(lab: CliLab, answer: str) -> CliRun:
    """`plume-fleet reshard` with its standard input a terminal (a pty) that types `answer`."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return reshard(lab, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)


def test_at_a_terminal_reshard_asks_and_moves_only_on_yes(
    labs: dict[str, CliLab], emulator: EmulatorServer
) -> None:
    north, south = labs["north"], labs["south"]
    write_fleet(north, move({"north": NORTH, "south": SOUTH}, ["N-1"], "south"))
    exported = {name: lab.resources() for name, lab in labs.items()}

    declined = reshard_at_a_terminal(north, "n")
    assert declined.returncode == 1, declined.output
    assert "Move 1 customer(s) and 2 node(s)? [y/N]" in declined.output
    assert "not confirmed: nothing was moved" in declined.output
    assert {name: lab.resources() for name, lab in labs.items()} == exported

    emulator.reset_stats()
    accepted = reshard_at_a_terminal(north, "y")
    assert accepted.returncode == 0, accepted.output
    assert "moved: 1 customer(s): N-1" in accepted.output
    assert south.customer_urn("N-1") in south.resources()
    assert north.customer_urn("N-1") not in north.resources()
    assert emulator.stats()["requests"] == []
