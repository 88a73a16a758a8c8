"""The real Pulumi CLI against the emulator: ``CliLab`` runs ``pulumi`` processes on a copy of the
project (its real ``__main__.py``, ``Pulumi.yaml`` and a stack file written by the test), with a
local file backend, a passphrase and a ``PULUMI_HOME`` of the test's own, and never the network.

Each command also writes the engine's event log (``--event-log``), from which ``CliRun`` reads
what a test asserts: the steps the engine took, its change summary and the diagnostics a user
sees; ``stdout``/``stderr`` are the text the user reads.

Which CLI: the pinned build in ``.tools/pulumi/bin`` (``make pulumi-cli``), else a ``pulumi`` on
PATH. Where Go is present and neither exists, the tests fail (CI must build the CLI); only a
machine with neither Go nor a CLI skips them.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.cli import copy_project, find_cli, offline_env
from plume_testkit.lab_view import LabView

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
PROJECT = "plume-fleet"
CUSTOMER_TYPE = "pulumi-python:dynamic/plume:Customer"
NODE_TYPE = "pulumi-python:dynamic/plume:Node"
PASSPHRASE = "plume-cli-tests"


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    cli = find_cli()
    if cli is None:
        if shutil.which("go"):
            pytest.fail("Go is installed but no Pulumi CLI is built: run `make pulumi-cli`")
        pytest.skip("neither Go nor a Pulumi CLI on this machine: the real-CLI tests cannot run")
    return cli


@dataclass
class CliRun:
    """One finished CLI command: exit code, the user's text, and the engine's events."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(op, urn) of every step, in the order the engine finished them."""
        done = []
        for event in self.events:
            outputs = event.get("resOutputsEvent")
            if outputs:
                done.append((outputs["metadata"]["op"], outputs["metadata"]["urn"]))
        return done

    @property
    def started(self) -> list[tuple[str, str]]:
        """(op, urn) of every step, in the order the engine started them."""
        return [
            (e["resourcePreEvent"]["metadata"]["op"], e["resourcePreEvent"]["metadata"]["urn"])
            for e in self.events
            if "resourcePreEvent" in e
        ]

    def urns(self, op: str) -> list[str]:
        """URNs of the Plume resources with that op, in finishing order."""
        return [urn for step_op, urn in self.steps if step_op == op and _is_plume(urn)]

    @property
    def summary(self) -> dict[str, int]:
        """The engine's own change summary, as the CLI prints it (the stack resource included)."""
        for event in reversed(self.events):
            summary = event.get("summaryEvent")
            if summary:
                return dict(summary["resourceChanges"])
        return {}

    @property
    def counts(self) -> dict[str, int]:
        """Steps per op over the Plume resources (``same`` included)."""
        return dict(Counter(op for op, urn in self.steps if _is_plume(urn)))

    @property
    def changes(self) -> dict[str, int]:
        """``counts`` without ``same``: what the run changed (or would change)."""
        return {op: n for op, n in self.counts.items() if op != "same"}

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        return [e["diagnosticEvent"] for e in self.events if "diagnosticEvent" in e]

    def messages(self, severity: str) -> str:
        return "".join(d["message"] for d in self.diagnostics if d.get("severity") == severity)


class CliError(AssertionError):
    def __init__(self, run: CliRun):
        super().__init__(f"pulumi {' '.join(run.args)} exited {run.returncode}:\n{run.output}")
        self.run = run


class CliLab(LabView):
    """One stack of a copy of the project, on a backend and PULUMI_HOME of its own."""

    def __init__(
        self,
        cli: Path,
        root: Path,
        emulator: EmulatorServer,
        credentials: LabCredentials,
        stack: str = "lab",
    ) -> None:
        super().__init__(emulator, credentials)
        self.cli = cli
        self.root = root
        self.stack = stack
        self.project = root / "project"
        copy_project(self.project)
        for name in ("home", "state", "events"):
            (root / name).mkdir()
        # PULUMI_DEBUG_COMMANDS enables --event-log, which the tests read.
        self.env = offline_env(
            cli, root / "home", root / "state", PASSPHRASE, PULUMI_DEBUG_COMMANDS="true"
        )
        lab = yaml.safe_load((REPO / "stacks" / "Pulumi.lab.yaml").read_text())["config"]
        lab.update(
            {
                "plume:apiUrl": emulator.api_url,
                "plume:tokenUrl": emulator.token_url,
                "plume:requestsPerSecond": "0",
            }
        )
        self.config: dict[str, Any] = lab
        self._runs = 0
        self.pulumi("stack", "init", stack)

    # -- running the CLI ---------------------------------------------------------------------

    @property
    def stack_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.stack}.yaml"

    def write_config(self) -> None:
        """Write ``self.config`` into the stack file, keeping what the CLI stored there."""
        saved = yaml.safe_load(self.stack_file.read_text()) if self.stack_file.exists() else None
        document = dict(saved or {})
        secure = {k: v for k, v in (document.get("config") or {}).items() if _is_secure(v)}
        document["config"] = {**self.config, **secure}
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    def pulumi(
        self, *args: str, check: bool = True, timeout: float = 600, events: bool = False
    ) -> CliRun:
        """Run ``pulumi <args>`` in the project; ``events`` adds an engine event log."""
        argv = [str(self.cli), *args, "--non-interactive"]
        log: Path | None = None
        if events:
            self._runs += 1
            log = self.root / "events" / f"{self._runs:03d}-{args[0]}.jsonl"
            argv += ["--event-log", str(log)]
        done = subprocess.run(
            argv,
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = CliRun(list(args), done.returncode, done.stdout, done.stderr)
        if log is not None and log.exists():
            run.events = [json.loads(line) for line in log.read_text().splitlines() if line]
        if check and run.returncode != 0:
            raise CliError(run)
        return run

    def operation(self, verb: str, *extra: str, check: bool = True) -> CliRun:
        self.write_config()
        yes = [] if verb == "preview" else ["--yes"]
        return self.pulumi(verb, *yes, "--stack", self.stack, *extra, check=check, events=True)

    def up(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("up", "--skip-preview", *extra, check=check)

    def preview(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("preview", *extra, check=check)

    def refresh(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("refresh", "--skip-preview", *extra, check=check)

    def destroy(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("destroy", "--skip-preview", *extra, check=check)

    def export(self, *extra: str) -> dict[str, Any]:
        """The stack's state, as ``pulumi stack export`` prints it."""
        run = self.pulumi("stack", "export", "--stack", self.stack, *extra)
        exported: dict[str, Any] = json.loads(run.stdout)
        return exported

    def resources(self) -> dict[str, dict[str, Any]]:
        """URN -> saved resource of the Plume types."""
        deployment = self.export()["deployment"]
        return {
            r["urn"]: r
            for r in deployment.get("resources") or []
            if r["type"] in (CUSTOMER_TYPE, NODE_TYPE)
        }

    def outputs(self) -> dict[str, Any]:
        run = self.pulumi("stack", "output", "--json", "--stack", self.stack)
        outputs: dict[str, Any] = json.loads(run.stdout)
        return outputs

    # -- the fleet ---------------------------------------------------------------------------

    @property
    def customers(self) -> list[dict[str, Any]]:
        """A copy of the declared customers (edit it, then ``set_customers``)."""
        return copy.deepcopy(self.config["plume-fleet:customers"])

    def set_customers(self, customers: list[dict[str, Any]]) -> None:
        self.config["plume-fleet:customers"] = customers

    @staticmethod
    def customer(customers: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
        return next(c for c in customers if c["accountId"] == account_id)

    def serials(self) -> set[str]:
        return {n["serialNumber"] for c in self.customers for n in c.get("nodes", [])}

    def urn(self, type_: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{PROJECT}::{type_}::{name}"

    def customer_urn(self, account_id: str) -> str:
        return self.urn(CUSTOMER_TYPE, f"customer-{account_id}")

    def node_urn(self, serial: str) -> str:
        return self.urn(NODE_TYPE, f"node-{serial}")

    def customer_id(self, account_id: str) -> str:
        saved = self.resources().get(self.customer_urn(account_id))
        assert saved is not None, f"customer {account_id} is not in the stack state"
        return str(saved["id"])


def _is_plume(urn: str) -> bool:
    return f"::{CUSTOMER_TYPE}::" in urn or f"::{NODE_TYPE}::" in urn


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


@pytest.fixture
def cli_lab(
    pulumi_cli: Path, emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path
) -> Iterator[CliLab]:
    """The lab stack (empty state) on the real CLI against a fresh emulator."""
    lab = CliLab(pulumi_cli, tmp_path, emulator, lab_credentials)
    yield lab
    lab.close()
