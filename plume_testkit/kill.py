"""Killing a `pulumi` run the way a CI timeout or an OOM kill does: every process at once."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

__all__ = ["kill_processes_with"]


def kill_processes_with(variable: str) -> None:
    """SIGKILL every process whose environment holds `variable` (exactly, as NAME=value).

    The CLI starts its plugins in process groups of their own, so killing the CLI's group leaves
    the dynamic-provider host running (it has no health check); a lab's `PULUMI_HOME=...` finds
    every process of that lab's CLI."""
    wanted = variable.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
