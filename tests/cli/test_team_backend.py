"""The lab stack on a team backend: the real CLI with its state in a real PostgreSQL server
(``postgres://``, one row per state file), as two operators or a CI runner and an operator share
it. Up, refresh and destroy land in both Plume and the database; a second ``up`` on the stack
fails fast naming the update that holds it; a killed ``up`` is recovered by the path the CLI
prints (``pulumi cancel``, then a refresh), with nothing duplicated or orphaned. The database
password, given as libpq's ``PGPASSWORD``, is found in no output, state row or CLI file."""

from __future__ import annotations

import base64
import getpass
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.fleet.stack_state import cli_environment
from plume_testkit import REPO_ROOT
from plume_testkit.cli import VENV
from plume_testkit.cli_lab import CliLab
from plume_testkit.kill import kill_processes_with
from plume_testkit.postgres_server import PostgresServer

NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"
# Keys of the state rows, under the URL's path (the database name): the file backend's layout.
CHECKPOINT = "{database}/.pulumi/stacks/plume-fleet/lab.json"
LOCKS = "{database}/.pulumi/locks/organization/plume-fleet/lab/"
_databases = itertools.count(1)


def state_rows(server: PostgresServer, database: str) -> dict[str, bytes]:
    """Key -> content of every state file the CLI keeps in the database's ``pulumi_state``."""
    rows = server.sql("SELECT key, data->>'data' FROM pulumi_state", database=database)
    return {key: base64.b64decode(data) for key, data in rows}


def checkpoint(server: PostgresServer, database: str) -> dict[str, Any]:
    """The stack's current checkpoint, read from its row (not through the CLI)."""
    row = state_rows(server, database)[CHECKPOINT.format(database=database)]
    document: dict[str, Any] = json.loads(row)
    return document["checkpoint"]


def locks(server: PostgresServer, database: str) -> list[str]:
    prefix = LOCKS.format(database=database)
    return [key for key in state_rows(server, database) if key.startswith(prefix)]


@pytest.fixture
def team_lab(
    pulumi_cli: Path,
    emulator: EmulatorServer,
    lab_credentials: LabCredentials,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> Iterator[tuple[CliLab, str]]:
    """The lab stack with its state in a database of its own on the session's PostgreSQL; the
    URL names no password (the CLI gets it as ``PGPASSWORD``). Yields (lab, database)."""
    database = f"team_{next(_databases)}"
    url = postgres_server.new_database(database).replace(f":{postgres_server.password}@", "@")
    lab = CliLab(
        pulumi_cli,
        tmp_path,
        emulator,
        lab_credentials,
        backend_url=url,
        env={"PGPASSWORD": postgres_server.password},
    )
    yield lab, database
    lab.close()


def _start_up(lab: CliLab) -> subprocess.Popen[str]:
    """``pulumi up`` in the background, in a process group of its own (to kill it whole)."""
    lab.write_config()
    return subprocess.Popen(
        [str(lab.cli), "up", "--yes", "--skip-preview", "--stack", "lab", "--non-interactive"],
        cwd=lab.project,
        env=lab.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _poll(ready: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.05)


def _claims_in_flight(lab: CliLab, count: int) -> Callable[[], bool]:
    def ready() -> bool:
        rules = lab.emulator.http.get("/_emulator/faults").json()["rules"]
        return bool(rules[0]["fired"] >= count)

    return ready


def _kill_tree(process: subprocess.Popen[str], lab: CliLab) -> None:
    """SIGKILL the CLI's process group, then every plugin of this lab's CLI that started a group
    of its own (the dynamic-provider host would outlive the dead CLI)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    kill_processes_with(f"PULUMI_HOME={lab.env['PULUMI_HOME']}")


def _assert_plume_matches_state(lab: CliLab) -> None:
    """Every customer registered once, every declared node claimed, and nothing at Plume that the
    state does not manage (no orphan), nor the other way round."""
    customers = lab.partner()["customers"]
    accounts = [c["accountId"] for c in customers]
    assert len(accounts) == len(set(accounts)) == 3
    assert set(lab.claimed()) == lab.serials()
    saved = lab.resources()
    assert {str(saved[lab.customer_urn(a)]["id"]) for a in accounts} == {c["id"] for c in customers}
    assert {lab.node_urn(s) for s in lab.claimed()} == {
        urn for urn in saved if urn.split("::")[-1].startswith("node-")
    }
    assert lab.partner()["licenses_in_use"] == 7


def test_up_refresh_destroy_keep_their_state_in_postgres_and_the_password_nowhere(
    team_lab: tuple[CliLab, str], postgres_server: PostgresServer
) -> None:
    lab, database = team_lab

    up = lab.up()
    assert up.changes == {"create": 10}
    _assert_plume_matches_state(lab)
    saved = {r["urn"] for r in checkpoint(postgres_server, database)["latest"]["resources"]}
    assert set(lab.resources()) <= saved  # the row holds what the CLI exports
    assert lab.customer_urn("LAB-ACCT-0001") in saved
    assert list((lab.root / "state").iterdir()) == []  # nothing in a file backend

    refreshed = lab.refresh()
    assert refreshed.changes == {}

    destroyed = lab.destroy()
    assert destroyed.counts == {"delete": 10}
    assert lab.partner()["customers"] == []
    assert lab.claimed() == {}
    left = checkpoint(postgres_server, database)["latest"].get("resources") or []
    assert [r["type"] for r in left if "dynamic" in r["type"]] == []
    assert locks(postgres_server, database) == []

    whoami = lab.pulumi("whoami", "--verbose")
    assert f"@127.0.0.1:{postgres_server.port}/{database}" in whoami.output
    password = postgres_server.password
    texts = {
        "up, refresh, destroy output": up.output + refreshed.output + destroyed.output,
        "engine events": json.dumps([up.events, refreshed.events, destroyed.events]),
        "whoami --verbose": whoami.output,
        "state rows": "\n".join(
            f"{key} {text.decode(errors='replace')}"
            for key, text in state_rows(postgres_server, database).items()
        ),
        "PULUMI_HOME files": "\n".join(
            p.read_text(errors="replace") for p in (lab.root / "home").rglob("*") if p.is_file()
        ),
        "stack file": lab.stack_file.read_text(),
    }
    assert [where for where, text in texts.items() if password in text] == []


def test_a_second_up_on_the_stack_fails_fast_naming_the_holder_and_nothing_is_lost(
    team_lab: tuple[CliLab, str], postgres_server: PostgresServer
) -> None:
    """Two operators run ``up`` at once: the first holds the stack's lock (its removal guard
    still reads the state, since export takes no lock), the second stops at once, saying who
    holds it and what to do, and touched nothing; the first completes alone."""
    lab, database = team_lab
    lab.emulator.set_faults([{"method": "POST", "path": NODES, "delay_ms": 3000}])
    first = _start_up(lab)
    try:
        _poll(lambda: bool(locks(postgres_server, database)), "the first up's lock")

        second = lab.up(check=False)

        assert second.returncode != 0
        assert second.seconds < 30
        holder = f"created by {getpass.getuser()}@{socket.gethostname()} (pid {first.pid})"
        assert "the stack is currently locked by 1 lock(s)" in second.output
        assert holder in second.output
        assert "wait for the other process(es) to end" in second.output
        assert "postgres://****:****@127.0.0.1" in second.output  # the lock's row, masked
        assert second.steps == []
        out, _ = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            _kill_tree(first, lab)
    assert first.returncode == 0, out[-3000:]
    assert "plume-fleet: +3 customers" in out  # the guard read the state under the lock
    lab.emulator.clear_faults()
    _assert_plume_matches_state(lab)
    assert locks(postgres_server, database) == []
    assert lab.up().changes == {}


def _lab_script(lab: CliLab, backend_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``scripts/lab.sh <args>`` on this lab's stack: its emulator (already answering on
    LAB_PORT), its passphrase and encryption salt (as a team shares the stack file), and the
    state at ``LAB_BACKEND_URL``."""
    lab_dir = lab.root / "lab-sh"
    stacks = lab_dir / "project" / "stacks"
    if not stacks.exists():
        stacks.mkdir(parents=True)
        salt = yaml.safe_load(lab.stack_file.read_text())["encryptionsalt"]
        (stacks / "Pulumi.lab.yaml").write_text(yaml.safe_dump({"encryptionsalt": salt}))
    env = {
        **{k: v for k, v in lab.env.items() if k not in ("PULUMI_HOME", "PULUMI_BACKEND_URL")},
        "LAB_DIR": str(lab_dir),
        "LAB_PORT": lab.emulator.url.rsplit(":", 1)[1],
        "LAB_BACKEND_URL": backend_url,
        "VENV": str(VENV),
        "PYTHON": sys.executable,
    }
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "lab.sh"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_killed_up_is_recovered_by_cancel_and_refresh_without_duplicates(
    team_lab: tuple[CliLab, str], postgres_server: PostgresServer
) -> None:
    """SIGKILL while claims are in flight leaves the dead run's lock row and its pending
    operations. The operator's next ``make lab`` on PostgreSQL (``LAB_BACKEND_URL``) is refused
    with the CLI's message (the dead holder, ``pulumi cancel``) and lab.sh's safe next steps;
    ``cancel`` removes the row, ``refresh --clear-pending-creates`` (the non-interactive form of
    the refresh the CLI's pending-operations warning asks for) clears the leftovers, and the rerun
    converges with nothing registered or claimed twice and nothing outside the state."""
    lab, database = team_lab
    lab.emulator.set_faults([{"method": "POST", "path": NODES, "delay_ms": 3000}])
    killed = _start_up(lab)
    try:
        _poll(_claims_in_flight(lab, 4), "four claims in flight")
    finally:
        _kill_tree(killed, lab)
    lab.emulator.clear_faults()
    (dead_lock,) = locks(postgres_server, database)
    assert checkpoint(postgres_server, database)["latest"].get("pending_operations")
    assert len(lab.partner()["customers"]) == 3

    url = lab.env["PULUMI_BACKEND_URL"]
    locked = _lab_script(lab, url, "up")
    assert locked.returncode != 0, locked.stdout + locked.stderr
    assert f"(pid {killed.pid})" in locked.stderr
    assert "delete the lock file with `pulumi cancel`" in locked.stderr
    assert "Wait for it to\n  end" in locked.stderr
    assert "scripts/lab.sh cancel" in locked.stderr
    assert "refresh --clear-pending-creates" in locked.stderr
    assert [dead_lock] == locks(postgres_server, database)

    cancelled = _lab_script(lab, url, "cancel")
    assert cancelled.returncode == 0, cancelled.stderr
    assert locks(postgres_server, database) == []
    refreshed = _lab_script(lab, url, "refresh", "--clear-pending-creates")
    assert refreshed.returncode == 0, refreshed.stdout[-2000:] + refreshed.stderr
    assert not checkpoint(postgres_server, database)["latest"].get("pending_operations")
    rerun = lab.up()

    assert "pending operations" not in rerun.output  # the CLI's warning of a dead run's leftovers
    _assert_plume_matches_state(lab)
    assert dead_lock not in state_rows(postgres_server, database)
    assert lab.up().changes == {}


@pytest.fixture
def five_stacks(team_lab: tuple[CliLab, str]) -> CliLab:
    lab, _ = team_lab
    for number in range(1, 5):
        lab.pulumi("stack", "init", f"shard-{number}")
    return lab


def test_listing_five_stacks_on_postgres_finishes_with_the_cli_environment(
    five_stacks: CliLab,
) -> None:
    """What rollout and reshard run (`cli_environment`): the listing answers, every stack.
    Without it the CLI's listing waits forever on a 2-core machine (docs/upstream.md)."""
    env = cli_environment({**five_stacks.env, "GOMAXPROCS": "2"})
    done = subprocess.run(
        [str(five_stacks.cli), "stack", "ls", "--json", "--non-interactive"],
        cwd=five_stacks.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)) == 5


def test_rollout_s_compressed_state_is_read_and_rewritten_by_a_cli_without_the_setting(
    team_lab: tuple[CliLab, str], postgres_server: PostgresServer
) -> None:
    """A stack updated with `cli_environment` (as rollout and reshard run it) is stored
    zstd-compressed; a teammate's CLI without the setting reads it, plans nothing, and its
    next update stores it plain again, the compressed row gone: the forms mix safely."""
    lab, database = team_lab
    plain = dict(lab.env)
    key = CHECKPOINT.format(database=database)
    lab.env = cli_environment(plain)
    lab.up()
    stored = state_rows(postgres_server, database)
    assert f"{key}.zst" in stored
    assert key not in stored
    assert not stored[f"{key}.zst"].lstrip().startswith(b"{")  # compressed, not JSON text

    lab.env = plain
    lab.emulator.reset_stats()
    assert lab.preview().changes == {}
    lab.refresh()
    stored = state_rows(postgres_server, database)
    assert key in stored
    assert f"{key}.zst" not in stored
    assert checkpoint(postgres_server, database)["latest"]["resources"]
    assert lab.up().changes == {}
    assert lab.mutating_calls() == {}
