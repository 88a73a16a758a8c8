"""The real ``pulumi`` CLI on a copy of the project, for the benchmark (no pytest, no tests/).

A small sibling of ``tests/cli/conftest.py``'s ``CliLab``: a stack of its own (local file
backend, passphrase, ``PULUMI_HOME`` in a temporary directory, never the network) whose stack
file the benchmark writes, and commands timed from process start to exit, as a user waits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from plume_testkit import REPO_ROOT as REPO

__all__ = ["CliStack", "CliTimed", "copy_project", "find_cli", "offline_env"]

VENV = Path(sys.executable).parent.parent
PINNED_CLI = REPO / ".tools" / "pulumi" / "bin" / "pulumi"
PASSPHRASE = "plume-bench"


def find_cli() -> Path | None:
    """The pinned build (``make pulumi-cli``), else a ``pulumi`` on PATH."""
    if PINNED_CLI.is_file():
        return PINNED_CLI
    found = shutil.which("pulumi")
    return Path(found) if found else None


def offline_env(
    cli: Path, home: Path, state: Path, passphrase: str, **extra: str
) -> dict[str, str]:
    """The environment of a CLI process that never reaches for the network: a local file
    backend and ``PULUMI_HOME`` of its own, no update check, no plugin download."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PLUME_"))}
    return {
        **keep,
        "PATH": f"{cli.parent}{os.pathsep}{VENV / 'bin'}{os.pathsep}{keep.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": f"file://{state}",
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
        shutil.copy(REPO / name, project / name)
    (project / ".venv").symlink_to(VENV)


@dataclass
class CliTimed:
    args: list[str]
    returncode: int
    seconds: float
    output: str


class CliStack:
    """One stack of a copy of the project under ``root``."""

    def __init__(
        self,
        cli: Path,
        root: Path,
        config: dict[str, Any],
        stack: str = "bench",
        env: dict[str, str] | None = None,
    ):
        self.cli = cli
        self.stack = stack
        self.project = root / "project"
        copy_project(self.project)
        for name in ("home", "state"):
            (root / name).mkdir()
        self.env = offline_env(cli, root / "home", root / "state", PASSPHRASE, **(env or {}))
        self.config = config
        self.run("stack", "init", stack)

    def write_config(self) -> None:
        path = self.project / "stacks" / f"Pulumi.{self.stack}.yaml"
        saved = yaml.safe_load(path.read_text()) if path.exists() else None
        document = dict(saved or {})
        document["config"] = self.config
        path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    def run(self, *args: str, timeout: float = 3600) -> CliTimed:
        argv = [str(self.cli), *args, "--non-interactive"]
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
        timed = CliTimed(list(args), done.returncode, seconds, done.stdout + done.stderr)
        if done.returncode != 0:
            tail = "\n".join(timed.output.splitlines()[-40:])
            raise RuntimeError(f"pulumi {' '.join(args)} exited {done.returncode}:\n{tail}")
        return timed

    def operation(self, verb: str) -> CliTimed:
        """``pulumi <verb>`` on the stack: up/refresh/destroy with ``--yes --skip-preview``."""
        self.write_config()
        extra = [] if verb == "preview" else ["--yes", "--skip-preview"]
        return self.run(verb, *extra, "--stack", self.stack)
