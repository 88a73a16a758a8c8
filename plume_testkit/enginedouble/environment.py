"""The environment of the Python processes the engine double starts (the program, the
dynamic-provider host): they import from this repository, whatever their working directory."""

from __future__ import annotations

import os
from pathlib import Path

from plume_testkit import REPO_ROOT

__all__ = ["python_env"]


def python_env(*paths: Path) -> dict[str, str]:
    """This process's environment with the repo root, then ``paths``, then any ``PYTHONPATH``
    already set, on ``PYTHONPATH``; output unbuffered, so what a child prints arrives as it
    prints it."""
    env = dict(os.environ)
    entries = [str(REPO_ROOT), *(str(path) for path in paths)]
    if env.get("PYTHONPATH"):
        entries.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(entries)
    env["PYTHONUNBUFFERED"] = "1"
    return env
