"""Under the real CLI: secrets set with ``pulumi config set --secret`` work and leak nowhere (state
export with secrets shown, the CLI's most verbose logs); an ``up`` broken by faults or killed
half-way converges on a rerun with no duplicate and no pending operation."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.cli_lab import CliLab
from plume_testkit.kill import kill_processes_with
from tests.reliability.conftest import TokenRecorder

REGISTER = "/api/Customers/register"
NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


def _leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    found = [
        f"{where}: {label}"
        for where, text in texts.items()
        for label, secret in secrets.items()
        if secret in text
    ]
    return found + [
        f"{where}: JWT-shaped text" for where, text in texts.items() if JWT_SHAPE.search(text)
    ]


def _without_credentials(cli_lab: CliLab) -> str:
    """Drop the lab's plain credentials from the stack; return the Basic value for them."""
    creds = cli_lab.credentials
    del cli_lab.config["plume:clientId"], cli_lab.config["plume:clientSecret"]
    cli_lab.write_config()
    return "Basic " + base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()


def test_secret_config_works_and_is_saved_only_encrypted(cli_lab: CliLab) -> None:
    basic = _without_credentials(cli_lab)
    cli_lab.pulumi("config", "set", "--secret", "plume:authHeader", basic, "--stack", "lab")
    recorder = TokenRecorder(cli_lab.emulator)
    try:
        run = cli_lab.up("-v=11", "--logtostderr", "--debug")
    finally:
        recorder.stop()

    assert run.changes == {"create": 10}
    assert len(recorder.issued) == 1  # one token for the whole run
    secrets = {
        "client secret": cli_lab.credentials.client_secret,
        "Basic value": basic.removeprefix("Basic "),
        "access token": recorder.issued[0],
    }
    state_files = sorted((cli_lab.root / "state").rglob("*.json"))
    assert state_files
    texts = {
        "CLI output (-v=11 --logtostderr --debug)": run.output,
        "engine events": "\n".join(map(str, run.events)),
        "stack export": json.dumps(cli_lab.export()),
        "state files": "\n".join(p.read_text() for p in state_files),
        "stack file": cli_lab.stack_file.read_text(),
    }
    assert not _leaks(texts, secrets)
    assert len(run.output) > 100_000  # the verbose logs were really searched

    # The engine saves every stack config value as an input of Pulumi's default dynamic
    # provider (resource/deploy/target.go, GetPackageConfig): a secret one as a secret, so
    # only --show-secrets decrypts it, and only there. No Plume resource holds it.
    shown = cli_lab.export("--show-secrets")["deployment"]["resources"]
    holders = [r["urn"] for r in shown if basic in json.dumps(r)]
    assert holders == [cli_lab.urn("pulumi:providers:pulumi-python", "default")]


def test_credentials_from_the_environment_never_reach_the_state(cli_lab: CliLab) -> None:
    basic = _without_credentials(cli_lab)
    cli_lab.env["PLUME_AUTH_HEADER"] = basic

    run = cli_lab.up()

    assert run.changes == {"create": 10}
    exported = json.dumps(cli_lab.export("--show-secrets"))
    secrets = {"client secret": cli_lab.credentials.client_secret, "Basic value": basic[6:]}
    assert not _leaks({"stack export --show-secrets": exported}, secrets)


def test_up_through_server_faults_converges_on_rerun(cli_lab: CliLab) -> None:
    # Claims answer 500 (some after taking effect), a register's response is lost after it took
    # effect, a rename is cut off: retried, probed or left for the rerun.
    cli_lab.emulator.set_faults(
        [
            {"method": "POST", "path": REGISTER, "drop": True, "apply": True, "times": 1},
            {"method": "POST", "path": NODES, "status": 500, "apply": True, "times": 2},
            {"method": "POST", "path": NODES, "status": 500, "times": 2},
        ]
    )

    cli_lab.up(check=False)
    rules = cli_lab.emulator.http.get("/_emulator/faults").json()["rules"]
    assert [rule["fired"] for rule in rules] == [1, 2, 2]  # every fault really hit the run
    cli_lab.emulator.clear_faults()
    cli_lab.up()

    accounts = [c["accountId"] for c in cli_lab.partner()["customers"]]
    assert sorted(accounts) == ["LAB-ACCT-0001", "LAB-ACCT-0002", "LAB-ACCT-0003"]
    assert set(cli_lab.claimed()) == cli_lab.serials()
    assert cli_lab.partner()["licenses_in_use"] == 7
    deployment = cli_lab.export()["deployment"]
    assert not deployment.get("pending_operations")
    assert cli_lab.up().changes == {}


def _kill_up_when(cli_lab: CliLab, ready: Callable[[], bool]) -> None:
    """Start `pulumi up --yes --skip-preview` and SIGKILL its whole process tree once `ready()`
    holds (polled; at most 120 s), as a CI job's timeout or an OOM kill of the session does."""
    cli_lab.write_config()
    argv = [str(cli_lab.cli), "up", "--yes", "--skip-preview", "--stack", "lab"]
    process = subprocess.Popen(
        argv,
        cwd=cli_lab.project,
        env=cli_lab.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the CLI and every plugin it starts: one group to kill
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if ready():
                break
            if process.poll() is not None:
                raise AssertionError("the up ended before the point to kill it at")
            time.sleep(0.05)
        else:
            raise AssertionError("the up never reached the point to kill it at")
    finally:
        # The CLI, its language host, the program and the dynamic-provider host die at once.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # The CLI starts its plugins in process groups of their own; the dynamic-provider host
        # would outlive the dead CLI (it has no health check), so the test stops it.
        kill_processes_with(f"PULUMI_HOME={cli_lab.env['PULUMI_HOME']}")
    cli_lab.emulator.clear_faults()


def _fired(cli_lab: CliLab, times: int) -> Callable[[], bool]:
    def ready() -> bool:
        rules = cli_lab.emulator.http.get("/_emulator/faults").json()["rules"]
        return bool(rules[0]["fired"] >= times)

    return ready


def test_killed_up_is_resumed_without_duplicates(cli_lab: CliLab) -> None:
    # Claims are held 3 s at the emulator; the CLI is killed (SIGKILL) while they are in flight,
    # when every customer is registered and saved and the node steps have begun (the engine
    # writes each step's start to the state before it calls the provider).
    cli_lab.emulator.set_faults([{"method": "POST", "path": NODES, "delay_ms": 3000}])
    _kill_up_when(cli_lab, _fired(cli_lab, 4))  # the provider host's 4 threads are in a claim
    left = cli_lab.export()["deployment"]
    assert left.get("pending_operations"), "the kill should leave operations pending"
    assert len(cli_lab.partner()["customers"]) == 3

    # What a user does next, as the CLI's own messages say: remove the dead run's lock, drop
    # its pending creates, then up again.
    locked = cli_lab.up(check=False)
    assert locked.returncode != 0
    assert "locked" in locked.output
    assert "pulumi cancel" in locked.output
    cli_lab.pulumi("cancel", "--yes", "--stack", "lab")
    cli_lab.refresh("--clear-pending-creates")
    cli_lab.up()

    accounts = [c["accountId"] for c in cli_lab.partner()["customers"]]
    assert len(accounts) == len(set(accounts)) == 3
    assert set(cli_lab.claimed()) == cli_lab.serials()
    assert cli_lab.partner()["licenses_in_use"] == 7
    assert not cli_lab.export()["deployment"].get("pending_operations")
    assert cli_lab.up().changes == {}


def test_a_register_killed_before_it_was_recorded_is_named_with_adopt_not_blamed_on_the_email(
    cli_lab: CliLab,
) -> None:
    """Plume has the customer, the state only a pending create; the rerun's register meets
    Plume's email check first. The error names this stack's own customer and adopt / importId;
    with adopt the customer is taken over, never registered twice."""
    orphan = {"accountId": "ORPHAN-1", "name": "Orphan One", "email": "orphan.one@example.org"}
    cli_lab.set_customers([orphan])
    cli_lab.emulator.set_faults(
        [{"method": "POST", "path": REGISTER, "apply": True, "delay_ms": 5000, "times": 1}]
    )
    _kill_up_when(cli_lab, lambda: len(cli_lab.partner()["customers"]) == 1)
    (created,) = cli_lab.partner()["customers"]
    cli_lab.pulumi("cancel", "--yes", "--stack", "lab")
    cli_lab.refresh("--clear-pending-creates")

    rerun = cli_lab.up(check=False)

    assert rerun.returncode != 0
    assert f"customer {created['id']}, which already has accountId ORPHAN-1" in rerun.output
    assert "adopt: true" in rerun.output
    assert f"importId: {created['id']}" in rerun.output
    assert "not used by another customer" not in rerun.output
    cli_lab.set_customers([{**orphan, "adopt": True}])
    cli_lab.up()
    assert [c["id"] for c in cli_lab.partner()["customers"]] == [created["id"]]


def test_a_plain_text_credential_for_a_remote_api_is_refused_before_anything_is_declared(
    cli_lab: CliLab,
) -> None:
    """The engine would keep a credential set without ``--secret`` unencrypted in the state (as
    the default dynamic provider's input): against an API off this machine, the program stops
    first, names the key and the command, and never shows the value."""
    remote = "https://plume-cloud.invalid"
    cli_lab.config.update({"plume:apiUrl": f"{remote}/api", "plume:tokenUrl": f"{remote}/t"})

    refused = cli_lab.preview(check=False)

    assert refused.returncode != 0
    assert "plume:clientSecret is set in plain text" in refused.output
    assert "pulumi config set --secret plume:clientSecret <value>" in refused.output
    assert cli_lab.credentials.client_secret not in refused.output
    assert refused.changes == {}

    secret = cli_lab.config.pop("plume:clientSecret")
    cli_lab.write_config()
    cli_lab.pulumi("config", "set", "--secret", "plume:clientSecret", secret, "--stack", "lab")
    planned = cli_lab.preview()
    assert planned.changes == {"create": 10}
    assert cli_lab.emulator.stats()["tokens_issued"] == 0


def test_credentials_bound_for_any_remote_url_are_refused_and_found_nowhere(
    cli_lab: CliLab,
) -> None:
    """Every URL that receives a credential counts: with the API on this machine, a client
    secret for a remote token URL and a Redis password in the rate-limit scope are still refused,
    and neither canary reaches the output, the state export or the state files."""
    cli_lab.up()
    secret_canary, redis_canary = "canary-secret-7Hq2", "canary-redis-Vn4p"
    cli_lab.config.update(
        {
            "plume:tokenUrl": "https://okta.invalid/oauth2/token",
            "plume:clientSecret": secret_canary,
            "plume:rateLimitScope": f"redis://:{redis_canary}@redis.invalid:6379/0",
        }
    )
    cli_lab.emulator.reset_stats()

    refused = cli_lab.up(check=False)

    assert refused.returncode != 0
    assert "plume:clientSecret is set in plain text" in refused.output
    assert "plume:rateLimitScope holds a Redis URL with a password" in refused.output
    assert cli_lab.emulator.stats()["requests"] == []
    # the checkpoints (and their .bak); the CLI's update history records every update's stack
    # config as the stack file holds it, before any program runs (README, "Credentials")
    state_files = "\n".join(
        path.read_text(errors="replace")
        for path in sorted((cli_lab.root / "state").rglob("*"))
        if path.is_file() and "history" not in path.parts
    )
    shown = json.dumps(cli_lab.export("--show-secrets"))
    for canary in (secret_canary, redis_canary):
        assert canary not in refused.output
        assert canary not in shown
        assert canary not in state_files


def test_a_fleet_file_linked_to_the_environment_is_refused_unread_under_the_cli(
    pulumi_cli: Path, emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path
) -> None:
    """A fleet file committed as a symlink to /proc/self/environ (or any path out of the
    project) is refused by `pulumi preview` and `pulumi up` without being read: the canary in
    the program's environment is in no output, no state export and no state file."""
    canary = "canary-environ-Zr8w"
    lab = CliLab(pulumi_cli, tmp_path, emulator, lab_credentials, env={"LEAK_CANARY": canary})
    try:
        (lab.project / "fleets").mkdir()
        (lab.project / "fleets" / "pilot.csv").symlink_to("/proc/self/environ")
        lab.config.pop("plume-fleet:customers")
        lab.config["plume-fleet:fleetFile"] = "fleets/pilot.csv"
        emulator.reset_stats()
        runs = [lab.preview(check=False), lab.up(check=False)]
        for run in runs:
            assert run.returncode != 0
            assert "fleets/pilot.csv: resolves to a file outside the project" in run.output
            assert canary not in run.output
        assert emulator.stats()["requests"] == []
        state_files = "\n".join(
            path.read_text(errors="replace")
            for path in sorted((lab.root / "state").rglob("*"))
            if path.is_file()
        )
        assert canary not in state_files
        assert canary not in json.dumps(lab.export("--show-secrets"))
    finally:
        lab.close()
