"""`pip install .` with no extra, in a fresh venv, runs a real-cloud program: the lab stack's
`up` and `destroy` on the real CLI with that venv as the program's, against a Plume API (the
emulator, run from the test venv as a separate server: the program's venv has no FastAPI).
tests/project/test_base_install.py checks the import graph in process; this is the install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plume_testkit import REPO_ROOT
from plume_testkit.cli_lab import CliLab

CREATE = ("POST", "/api/Customers/register")


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with `pip install .` of a copy of the project (so no build files land in the
    tree), and nothing else."""
    root = tmp_path_factory.mktemp("base-install")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    for package in ("plume_provider", "plume_emulator"):
        shutil.copytree(
            REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


@pytest.mark.timeout(900)
def test_a_base_install_without_extras_runs_the_lab_stack(base_venv: Path, cli_lab: CliLab) -> None:
    python = str(base_venv / "bin" / "python")
    for extra_only in ("fastapi", "redis", "rich", "email_validator"):
        absent = subprocess.run(
            [python, "-c", f"import {extra_only}"], capture_output=True, timeout=60, check=False
        )
        assert absent.returncode != 0, f"{extra_only} is installed without its extra"
    venv_link = cli_lab.project / ".venv"
    venv_link.unlink()
    venv_link.symlink_to(base_venv)

    up = cli_lab.up()
    declared = len(cli_lab.resources())
    assert declared > 0
    assert up.changes == {"create": declared}
    assert cli_lab.mutating_calls()[CREATE] == len(cli_lab.partner()["customers"])
    assert cli_lab.preview().changes == {}
    cli_lab.destroy()
    assert cli_lab.partner()["customers"] == []
