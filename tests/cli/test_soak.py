"""The fault soak under the real CLI: 50 customers x 3 nodes through `pulumi up`, a second
`pulumi up` and `pulumi destroy`, against the same hostile emulator as the engine double's copy
(`tests/reliability/test_soak.py`, the faster one): 10 % of calls answer 500, claims 503 after
claiming, registers and claims performed then dropped or answered 504, 2 % of calls delayed past
the 1 s client timeout, the WAF at 60 requests per 3 s. The plan, the seed (`SOAK_FAULT_SEED`)
and the checks are shared with that copy (`tests/reliability/fault_soak.py`).

Here every resource operation goes through the real engine, the real language host and the
real dynamic-provider host, each operation in processes of its own. The credentials come from
the environment (`PLUME_CLIENT_ID`/`PLUME_CLIENT_SECRET`), as the README advises: the engine
saves plain stack config in the state (see `test_secrets_and_faults.py`). The hooks of
`plume_testkit/hosthooks` make the host and the program log at DEBUG to stderr, which the CLI
prints: the secrets audit reads every line the provider and httpx logged.

The module runs the lifecycle once (`soak` fixture); each test asserts one thing a user relies on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plume_testkit import HOSTHOOKS
from plume_testkit.cli import CliStack
from plume_testkit.cli_run import CliRun
from plume_testkit.fleets import LAB_CLIENT_ID, LAB_CLIENT_SECRET
from tests.reliability import fault_soak as plan
from tests.reliability.conftest import TokenRecorder, api_calls, partner_state

# The lifecycle runs in the first test's setup: three CLI operations of 200 resources each.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STACK = "soak"
PASSPHRASE = "plume-cli-soak"
RESOURCES = plan.CUSTOMERS * (1 + plan.NODES_PER_CUSTOMER)


@dataclass
class CliSoak:
    """What the lifecycle produced under the real CLI, for the tests to inspect (each field is
    set by the `soak` fixture as the lifecycle goes)."""

    fleet: list[dict[str, Any]]
    seed: int
    first_up: CliRun = field(init=False)
    after_up: dict[str, Any] = field(init=False)
    up_stats: dict[str, Any] = field(init=False)
    faults: list[dict[str, Any]] = field(init=False)
    exported: dict[str, Any] = field(init=False)
    shown: dict[str, Any] = field(init=False)
    """`pulumi stack export --show-secrets`."""
    state_files: str = field(init=False)
    stack_file: str = field(init=False)
    second_up: CliRun = field(init=False)
    second_up_stats: dict[str, Any] = field(init=False)
    destroy: CliRun = field(init=False)
    destroy_stats: dict[str, Any] = field(init=False)
    after_destroy: dict[str, Any] = field(init=False)
    exported_after_destroy: dict[str, Any] = field(init=False)
    issued_tokens: list[str] = field(default_factory=list)

    @property
    def runs(self) -> list[CliRun]:
        return [self.first_up, self.second_up, self.destroy]


def _tail(run: CliRun, lines: int = 60) -> str:
    """The end of a command's output, for an assertion message (the whole is megabytes)."""
    return f"pulumi {' '.join(run.args)} exited {run.returncode}:\n" + "\n".join(
        run.output.splitlines()[-lines:]
    )


def _resources(exported: dict[str, Any]) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = exported["deployment"].get("resources") or []
    return resources


def _cli_env(workdir: Path) -> dict[str, str]:
    """Credentials from the environment, the event log on, the host's log at DEBUG, and a
    rate-budget cache of the soak's own."""
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {
        "PULUMI_DEBUG_COMMANDS": "true",
        "PLUME_CLIENT_ID": LAB_CLIENT_ID,
        "PLUME_CLIENT_SECRET": LAB_CLIENT_SECRET,
        "PYTHONPATH": os.pathsep.join([*pythonpath, str(HOSTHOOKS)]),
        "RELIABILITY_HOST_LOG_LEVEL": "DEBUG",
        "XDG_CACHE_HOME": str(workdir / "cache"),
    }


@pytest.fixture(scope="module")
def soak(pulumi_cli: Path, tmp_path_factory: pytest.TempPathFactory) -> CliSoak:
    workdir = tmp_path_factory.mktemp("cli-soak")
    run = CliSoak(plan.soak_fleet(), plan.fault_seed())
    with plan.soak_emulator(workdir / "plume.sqlite", run.seed) as emulator:
        provider = plan.soak_provider_config(emulator.api_url, emulator.token_url)
        del provider["plume:clientId"], provider["plume:clientSecret"]
        stack = CliStack(
            pulumi_cli,
            workdir / "stack",
            {**provider, "plume-fleet:customers": run.fleet},
            STACK,
            passphrase=PASSPHRASE,
            env=_cli_env(workdir),
        )
        recorder = TokenRecorder(emulator)
        try:
            emulator.set_faults(plan.FAULT_RULES)
            run.first_up = stack.up(check=False)
            run.after_up = partner_state(emulator)
            run.up_stats = emulator.stats()
            run.faults = emulator.http.get("/_emulator/faults").json()["rules"]
            run.exported = stack.export()
            run.shown = stack.export("--show-secrets")
            run.state_files = "\n".join(
                p.read_text() for p in sorted((stack.root / "state").rglob("*.json"))
            )
            run.stack_file = stack.stack_file.read_text()

            # Stragglers (requests delayed past the client's timeout) land before the count.
            plan.wait_until_idle(emulator)
            run.second_up = stack.up(check=False)
            run.second_up_stats = emulator.stats()

            emulator.reset_stats()
            run.destroy = stack.destroy(check=False)
            run.destroy_stats = emulator.stats()
            emulator.clear_faults()
            run.after_destroy = partner_state(emulator)
            run.exported_after_destroy = stack.export()
        finally:
            recorder.stop()
            run.issued_tokens = list(recorder.issued)

    print(
        f"\ncli soak (seed {run.seed}): up of {plan.CUSTOMERS}x{plan.NODES_PER_CUSTOMER} in "
        f"{run.first_up.seconds:.1f} s; {run.up_stats['faults_injected']} faults injected and "
        f"{plan.waf_blocks(run.up_stats)} WAF blocks [{plan.fired_summary(run.faults)}]; second up "
        f"{run.second_up.seconds:.1f} s ({api_calls(run.second_up_stats)} API calls); destroy "
        f"{run.destroy.seconds:.1f} s with {run.destroy_stats['faults_injected']} faults injected"
    )
    return run


# -- one up under faults ----------------------------------------------------------------------


def test_first_up_under_faults_succeeds_creating_every_resource(soak: CliSoak) -> None:
    assert soak.first_up.returncode == 0, _tail(soak.first_up)
    assert soak.first_up.changes == {"create": RESOURCES}
    assert soak.first_up.messages("error") == ""


def test_first_up_ends_with_exactly_the_declared_fleet(soak: CliSoak) -> None:
    plan.assert_declared_fleet(soak.after_up, soak.fleet)


def test_stack_export_agrees_with_the_emulator(soak: CliSoak) -> None:
    plan.assert_state_agrees(_resources(soak.exported), soak.after_up, soak.fleet)
    assert not soak.exported["deployment"].get("pending_operations")


def test_faults_of_every_rule_and_waf_blocks_were_met_and_survived(soak: CliSoak) -> None:
    plan.assert_faults_met(
        soak.faults, soak.up_stats["faults_injected"], plan.waf_blocks(soak.up_stats)
    )
    assert soak.first_up.returncode == 0, _tail(soak.first_up)


def test_one_token_per_cli_operation_that_calls_the_api(soak: CliSoak) -> None:
    # Each CLI operation starts its own dynamic-provider host; its token lasts 10 minutes.
    assert soak.up_stats["tokens_issued"] == 1
    assert soak.second_up_stats["tokens_issued"] == 0
    assert soak.destroy_stats["tokens_issued"] == 1
    assert len(soak.issued_tokens) == 2


# -- idempotence and teardown ---------------------------------------------------------------


def test_second_up_under_faults_changes_nothing_and_makes_no_mutating_call(
    soak: CliSoak,
) -> None:
    assert soak.second_up.returncode == 0, _tail(soak.second_up)
    assert soak.second_up.changes == {}
    assert len(soak.second_up.urns("same")) == RESOURCES
    assert api_calls(soak.second_up_stats, mutating_only=True) == 0


def test_destroy_under_faults_leaves_no_customer_claim_or_license(soak: CliSoak) -> None:
    assert soak.destroy.returncode == 0, _tail(soak.destroy)
    assert soak.destroy.changes == {"delete": RESOURCES}
    assert soak.destroy_stats["faults_injected"] > 0, "destroy met no fault"
    plan.assert_nothing_left(soak.after_destroy)
    remaining = _resources(soak.exported_after_destroy)
    assert plan.saved_of_type(remaining, "plume:Customer") == []
    assert plan.saved_of_type(remaining, "plume:Node") == []


# -- secrets audit --------------------------------------------------------------------------


AUDITED = (
    "stack export",
    "stack export --show-secrets",
    "provider blobs",
    "state files",
    "stack file",
    "CLI output",
    "engine events",
)


def _audited(soak: CliSoak) -> dict[str, list[str]]:
    """Every text the audit searches, by where it comes from (`AUDITED`)."""
    return {
        "stack export": [json.dumps(soak.exported)],
        "stack export --show-secrets": [json.dumps(soak.shown)],
        "provider blobs": [plan.decoded(b) for b in plan.provider_blobs(_resources(soak.shown))],
        "state files": [soak.state_files],
        "stack file": [soak.stack_file],
        "CLI output": [run.output for run in soak.runs],
        "engine events": [json.dumps(run.events) for run in soak.runs],
    }


def test_audit_has_material(soak: CliSoak) -> None:
    # The audit below is only meaningful if it saw what it claims to search.
    assert len(soak.issued_tokens) >= 1
    assert plan.provider_blobs(_resources(soak.shown))
    assert set(_audited(soak)) == set(AUDITED)
    output = "\n".join(run.output for run in soak.runs)
    assert "DEBUG httpcore" in output, "the host's DEBUG log did not reach the CLI's output"
    assert "WARNING plume_provider" in output, "the provider's warnings were not captured"
    assert "retry 1 of 5" in output, "no retry was logged"
    assert soak.state_files


@pytest.mark.parametrize("where", AUDITED)
def test_no_secret_leaks(soak: CliSoak, where: str) -> None:
    found = plan.leaks(_audited(soak)[where], soak.issued_tokens)
    assert not found, f"{where} leaks: {found}"
