"""The real ``pulumi`` CLI on a copy of the project: a stack of its own (its real
``__main__.py`` and ``Pulumi.yaml``, a stack file written from ``config``, a local file
backend, a passphrase and a ``PULUMI_HOME`` under a directory of the caller's), that never
reaches for the network.

Which CLI: the pinned build in ``.tools/pulumi/bin`` (``make pulumi-cli``), else a ``pulumi`` on
PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from plume_testkit import REPO_ROOT

from .cli_run import CliError, CliRun

__all__ = [
    "PINNED_CLI",
    "VENV",
    "CliStack",
    "copy_project",
    "file_backend_url",
    "find_cli",
    "offline_env",
]

VENV = Path(sys.executable).parent.parent
PINNED_CLI = REPO_ROOT / ".tools" / "pulumi" / "bin" / "pulumi"


def find_cli() -> Path | None:
    """The pinned build (``make pulumi-cli``), else a ``pulumi`` on PATH."""
    if PINNED_CLI.is_file():
        return PINNED_CLI
    found = shutil.which("pulumi")
    return Path(found) if found else None


def file_backend_url(state: Path) -> str:
    """The file backend in ``state``, writing no metadata sidecars: the CLI's blob driver
    truncates a ``.attrs`` sidecar before it writes it, so a kill at that instant leaves the
    stack unreadable ("failed to load checkpoint: EOF"); without sidecars every write is a
    temporary file renamed into place (docs/upstream.md)."""
    return f"file://{state}?metadata=skip"


def offline_env(
    cli: Path,
    home: Path,
    state: Path,
    passphrase: str,
    *,
    backend_url: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The environment of a CLI process that never reaches for the network: a local file
    backend under ``state`` (or ``backend_url``, e.g. a loopback ``postgres://``) and
    ``PULUMI_HOME`` of its own, no update check, no plugin download."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PLUME_"))}
    return {
        **keep,
        "PATH": f"{cli.parent}{os.pathsep}{VENV / 'bin'}{os.pathsep}{keep.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend_url or file_backend_url(state),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "NO_COLOR": "1",
        **extra,
    }


def copy_project(project: Path) -> None:
    """The program and its project file in ``project``, with the venv linked in."""
    (project / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
        shutil.copy(REPO_ROOT / name, project / name)
    (project / ".venv").symlink_to(VENV)


class CliStack:
    """One stack of a copy of the project under ``root`` (``project``, ``home``, ``state``).

    ``env`` adds variables to the CLI's environment; ``error_tail``, when set, keeps only that
    many last lines of a failed command's output in its ``CliError``; ``backend_url`` replaces
    the file backend under ``state`` (a team backend such as ``postgres://``); ``beside`` makes
    this another stack of that stack's project, backend and ``PULUMI_HOME`` (``root`` is then
    beside's, and ``env`` adds to its environment), as stacks sharing one fleet file are.
    """

    def __init__(
        self,
        cli: Path,
        root: Path,
        config: dict[str, Any],
        stack: str,
        *,
        passphrase: str,
        env: dict[str, str] | None = None,
        error_tail: int | None = None,
        backend_url: str | None = None,
        beside: CliStack | None = None,
    ) -> None:
        self.cli = cli
        self.root = root
        self.stack = stack
        self.project = root / "project"
        self.events_dir = root / "events"
        if beside is None:
            copy_project(self.project)
            for name in ("home", "state"):
                (root / name).mkdir()
            self.env = offline_env(
                cli,
                root / "home",
                root / "state",
                passphrase,
                backend_url=backend_url,
                **(env or {}),
            )
        else:
            # another stack of the same project, backend and PULUMI_HOME (`root` is beside's)
            self.project, self.env = beside.project, {**beside.env, **(env or {})}
            self.events_dir = root / f"events-{stack}"
        self.config = config
        self.error_tail = error_tail
        self._runs = 0
        self.pulumi("stack", "init", stack)

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
        """Run ``pulumi <args>`` in the project, timed; ``events`` adds an engine event log
        (which needs ``PULUMI_DEBUG_COMMANDS`` in ``env``)."""
        argv = [str(self.cli), *args, "--non-interactive"]
        log: Path | None = None
        if events:
            self._runs += 1
            log = self.events_dir / f"{self._runs:03d}-{args[0]}.jsonl"
            log.parent.mkdir(exist_ok=True)
            argv += ["--event-log", str(log)]
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.perf_counter() - started
        run = CliRun(list(args), done.returncode, done.stdout, done.stderr, seconds)
        if log is not None and log.exists():
            run.events = [json.loads(line) for line in log.read_text().splitlines() if line]
        if check and run.returncode != 0:
            raise CliError(run, self.error_tail)
        return run

    def operation(
        self, verb: str, *extra: str, check: bool = True, timeout: float = 600, events: bool = True
    ) -> CliRun:
        """``pulumi <verb>`` on the stack after writing its config; all but a preview run with
        ``--yes --skip-preview``."""
        self.write_config()
        yes = [] if verb == "preview" else ["--yes", "--skip-preview"]
        return self.pulumi(
            verb, *yes, "--stack", self.stack, *extra, check=check, timeout=timeout, events=events
        )

    def up(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("up", *extra, check=check)

    def preview(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("preview", *extra, check=check)

    def refresh(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("refresh", *extra, check=check)

    def destroy(self, *extra: str, check: bool = True) -> CliRun:
        return self.operation("destroy", *extra, check=check)

    def export(self, *extra: str) -> dict[str, Any]:
        """The stack's state, as ``pulumi stack export`` prints it."""
        run = self.pulumi("stack", "export", "--stack", self.stack, *extra)
        exported: dict[str, Any] = json.loads(run.stdout)
        return exported

    def outputs(self) -> dict[str, Any]:
        run = self.pulumi("stack", "output", "--json", "--stack", self.stack)
        outputs: dict[str, Any] = json.loads(run.stdout)
        return outputs


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}
