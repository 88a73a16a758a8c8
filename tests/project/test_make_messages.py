"""What `make` tells a newcomer is true: `make help` describes what each target does, and a
lab command that cannot run names that same command as the one to run again."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def recipe(target: str) -> str:
    makefile = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match is not None, f"Makefile has no recipe for {target}"
    return match.group(1)


def test_make_help_says_what_make_bench_writes() -> None:
    result = make("help")
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.split()[:2] == ["make", "bench"]]
    if "--write-docs" in recipe("bench"):
        assert "docs/performance.md" in line, line
    else:
        assert "writes docs/performance.md" not in line, line
        assert "--write-docs" in line, "help says how to update docs/performance.md"


@pytest.mark.parametrize("target", ["lab", "preview", "destroy", "refresh"])
def test_lab_command_without_pulumi_says_to_run_that_command_again(
    tmp_path: Path, target: str
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("make", "bash", "env", "dirname"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run make {target}"
        (tools / tool).symlink_to(found)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PLUME_"))}
    lab_dir = tmp_path / "lab"
    env = {
        **keep,
        "PATH": str(tools),
        "VENV": str(VENV),
        "PYTHON": sys.executable,
        "LAB_DIR": str(lab_dir),
    }

    result = make(target, env=env)

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(lines) == 1, result.stderr
    assert "Pulumi CLI is not installed" in lines[0]
    assert f"run 'make {target}' again" in lines[0], lines[0]
    for other in {"lab", "preview", "destroy", "refresh"} - {target}:
        assert f"make {other}" not in lines[0], lines[0]
    assert not lab_dir.exists(), "nothing was started"
