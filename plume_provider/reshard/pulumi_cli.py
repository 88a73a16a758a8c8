"""The `pulumi` CLI calls of a reshard, run in the project directory: the same CLI the program's
state reader uses (`fleet.stack_state.find_pulumi_cli`: the `pulumi` on PATH), the same backend
(`PULUMI_BACKEND_URL` or the login in `PULUMI_HOME`). None passes `--show-secrets`; config is
read from the stack files (`fleet.stack_fleets`), never through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plume_provider.fleet.stack_state import cli_environment, find_pulumi_cli
from plume_provider.reshard.plan import ReshardError

__all__ = ["CliFailure", "Pulumi"]

_TIMEOUT_S = 600
_TAIL = 12


@dataclass(frozen=True)
class CliFailure:
    """A `pulumi` command that exited non-zero: what ran and the end of what it said."""

    command: str
    message: str

    @property
    def locked(self) -> bool:
        return "locked" in self.message


class Pulumi:
    """The CLI in `project` (the directory of `Pulumi.yaml`)."""

    def __init__(self, project: Path) -> None:
        cli = find_pulumi_cli()
        if cli is None:
            raise ReshardError(
                "plume-fleet reshard runs the pulumi CLI (stack ls, stack export, state move) and "
                "none is on PATH: put the pulumi CLI on PATH and run again; nothing was moved"
            )
        self.cli = cli
        self.project = project

    def run(self, *args: str) -> subprocess.CompletedProcess[str] | CliFailure:
        """`pulumi <args> --non-interactive`, or a `CliFailure` when it fails or cannot run."""
        shown = [a for a in args if not a.startswith(("urn:", "/"))]  # no URN lists, no paths
        command = f"pulumi {' '.join(shown)}"
        try:
            done = subprocess.run(
                [str(self.cli), *args, "--non-interactive"],
                cwd=self.project,
                env=cli_environment(),
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            return CliFailure(command, f"did not answer ({type(err).__name__})")
        if done.returncode != 0:
            lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
            return CliFailure(command, "\n".join(lines[-_TAIL:]) or f"exit {done.returncode}")
        return done

    def _json(self, *args: str) -> Any:
        done = self.run(*args)
        if isinstance(done, CliFailure):
            raise ReshardError(f"`{done.command}` failed: {done.message}; nothing was moved")
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise ReshardError(
                f"`pulumi {' '.join(args)}` printed no JSON; nothing was moved"
            ) from None

    def stacks(self) -> list[str]:
        """The project's stacks, as `pulumi stack ls --json` names them."""
        listed = self._json("stack", "ls", "--json")
        return [str(s["name"]) for s in listed if isinstance(s, Mapping) and "name" in s]

    def import_state(self, stack: str, document: Mapping[str, Any]) -> CliFailure | None:
        """`pulumi stack import` of `document` into `stack` (from a private temporary file)."""
        with tempfile.TemporaryDirectory(prefix="plume-reshard-") as tmp:
            path = Path(tmp) / f"{stack.replace('/', '_')}.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(document, out)
            done = self.run("stack", "import", "--stack", stack, "--file", str(path))
        return done if isinstance(done, CliFailure) else None

    def state_move(self, source: str, dest: str, urns: Sequence[str]) -> CliFailure | None:
        """`pulumi state move --source --dest --yes <urns>`: the CLI's own move, which saves the
        destination first and puts it back when the source cannot be saved."""
        done = self.run("state", "move", "--source", source, "--dest", dest, "--yes", *urns)
        return done if isinstance(done, CliFailure) else None
