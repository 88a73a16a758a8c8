"""`plume-fleet rollout` under the real CLI: four shard stacks of one project and backend over one
fleet file, run as a real process on the Automation API, two at a time.

`up` brings up exactly the fleet and a second `up` makes no API call; a shard that fails leaves
the others done and the exit code non-zero, with the CSV saying which; SIGINT during a rollout
leaves no stack locked and no operation pending, and names the stacks to rerun."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.cli import VENV
from plume_testkit.cli_lab import CliLab

FLEET = "fleets/sharded.csv"
SHARDS = ("east", "north", "south", "west")
PER_SHARD = 3
REGISTER = ("POST", "/api/Customers/register")
CLAIM = ("POST", "/api/Customers/{customerId}/locations/{locationId}/nodes")


def fleet_csv(broken_shard: str | None = None) -> str:
    """Three customers a shard, each with a gateway; `broken_shard`'s last gateway is a serial
    no inventory holds (its claim fails)."""
    rows = ["accountId,name,shard,serialNumber"]
    for s, shard in enumerate(SHARDS):
        for i in range(1, PER_SHARD + 1):
            serial = f"LAB-GW-{200 + s * 10 + i:04d}"
            if shard == broken_shard and i == PER_SHARD:
                serial = "NOT-IN-INVENTORY-1"
            rows.append(f"{shard[0].upper()}-{i},{shard.title()} {i},{shard},{serial}")
    return "\n".join(rows) + "\n"


class ShardedProject:
    """One project copy and backend with a stack per shard, all over `FLEET`."""

    def __init__(self, lab: CliLab) -> None:
        self.lab = lab
        (lab.project / "fleets").mkdir()
        self.write_fleet(fleet_csv())
        base = {k: v for k, v in lab.config.items() if not k.startswith("plume-fleet:")}
        for shard in SHARDS:
            if shard != lab.stack:
                lab.pulumi("stack", "init", shard)
            self.configure(
                shard, {**base, "plume-fleet:fleetFile": FLEET, "plume-fleet:shard": shard}
            )

    def write_fleet(self, text: str) -> None:
        (self.lab.project / FLEET).write_text(text)

    def configure(self, stack: str, config: dict[str, str]) -> None:
        path = self.lab.project / "stacks" / f"Pulumi.{stack}.yaml"
        document = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        document["config"] = {**(document.get("config") or {}), **config}
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def set_everywhere(self, key: str, value: str) -> None:
        for shard in SHARDS:
            self.configure(shard, {key: value})

    def rollout(self, *args: str, live: bool = False) -> list[str]:
        return [
            str(VENV / "bin" / "plume-fleet"),
            "rollout",
            *args,
            "--fleet-file",
            FLEET,
            "-k",
            "2",
            *(() if live else ("--no-live",)),
            "--csv",
            str(self.lab.root / "results.csv"),
        ]

    def run(
        self, *args: str, live: bool = False, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.rollout(*args, live=live),
            cwd=self.lab.project,
            env=self.lab.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def results(self) -> dict[str, dict[str, str]]:
        with (self.lab.root / "results.csv").open() as rows:
            return {row["stack"]: row for row in csv.DictReader(rows)}

    def pending_and_locks(self) -> dict[str, str]:
        """Per stack, what is wrong: pending operations in its state, or a held lock."""
        found: dict[str, str] = {}
        for shard in SHARDS:
            export = self.lab.pulumi("stack", "export", "--stack", shard)
            if '"pending_operations"' in export.stdout:
                found[shard] = "pending operations"
            preview = self.lab.pulumi("preview", "--stack", shard, check=False)
            if "locked" in preview.output:
                found[shard] = "locked"
        return found


@pytest.fixture
def sharded(
    pulumi_cli: Path, emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path
) -> Iterator[ShardedProject]:
    lab = CliLab(pulumi_cli, tmp_path, emulator, lab_credentials, stack=SHARDS[0])
    try:
        yield ShardedProject(lab)
    finally:
        lab.close()


@pytest.mark.timeout(1200)
def test_rollout_up_of_four_shards_brings_up_exactly_the_fleet_then_calls_nothing(
    sharded: ShardedProject,
) -> None:
    lab = sharded.lab
    lab.emulator.reset_stats()
    done = sharded.run("up", live=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"customers {len(SHARDS) * PER_SHARD}/{len(SHARDS) * PER_SHARD}" in done.stdout
    total = len(SHARDS) * PER_SHARD
    assert lab.mutating_calls() == {REGISTER: total, CLAIM: total}
    live = sorted(c["accountId"] for c in lab.partner()["customers"])
    assert live == sorted(f"{s[0].upper()}-{i}" for s in SHARDS for i in range(1, PER_SHARD + 1))
    results = sharded.results()
    assert {name: row["state"] for name, row in results.items()} == dict.fromkeys(SHARDS, "done")
    assert all(row["customers_done"] == str(PER_SHARD) for row in results.values())

    lab.emulator.reset_stats()
    again = sharded.run("up")
    assert again.returncode == 0, again.stderr[-3000:]
    assert lab.emulator.stats()["requests"] == []  # not even a token
    assert all(row["create"] == "0" for row in sharded.results().values())


@pytest.mark.timeout(1200)
def test_a_failing_shard_leaves_the_others_done_and_the_exit_code_non_zero(
    sharded: ShardedProject,
) -> None:
    sharded.write_fleet(fleet_csv(broken_shard="south"))
    done = sharded.run("up")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    states = {name: row["state"] for name, row in sharded.results().items()}
    assert states == {"east": "done", "north": "done", "south": "failed", "west": "done"}
    assert "NOT-IN-INVENTORY-1" in sharded.results()["south"]["error"]
    assert "--only south" in done.stderr
    assert len(sharded.lab.partner()["customers"]) == len(SHARDS) * PER_SHARD


@pytest.mark.timeout(1200)
def test_sigint_during_a_rollout_leaves_no_stack_locked_and_nothing_pending(
    sharded: ShardedProject,
) -> None:
    sharded.set_everywhere("plume:requestsPerSecond", "3")  # a few seconds a stack
    lab = sharded.lab
    process = subprocess.Popen(
        sharded.rollout("up"),
        cwd=lab.project,
        env=lab.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if lab.mutating_calls()[REGISTER] >= 1:
            break
        time.sleep(0.1)
    assert process.poll() is None, "the rollout ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 130, out[-3000:] + err[-3000:]
    states = {name: row["state"] for name, row in sharded.results().items()}
    assert "not started" in states.values()  # K=2: the last two never started
    assert "interrupted" in states.values()  # the running ones cancelled, as the CLI does
    assert "rerun: plume-fleet rollout up --fleet-file" in err
    assert sharded.pending_and_locks() == {}
    # the rerun finishes the fleet, and nothing is registered twice
    lab.emulator.reset_stats()
    sharded.set_everywhere("plume:requestsPerSecond", "0")
    rerun = sharded.run("up")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    customers = [c["accountId"] for c in lab.partner()["customers"]]
    assert sorted(customers) == sorted(set(customers))
    assert len(customers) == len(SHARDS) * PER_SHARD
