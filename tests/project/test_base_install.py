"""The base install (`pip install .`, no extras) runs a real-cloud program: nothing the program,
the resources, the fleet model or the client import at start-up needs an extra. `redis` (the
`redis` extra: a Redis rate budget) and `rich` (`discover`) are imported only where they are
used; `email-validator` is needed by nothing.

Checked in a fresh interpreter with those packages made unimportable by a meta-path finder,
as they are in a venv without the extras."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXTRAS_ONLY = ("redis", "rich", "email_validator")

_BLOCKER = """
import importlib.abc, sys

class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: an extra)")
        return None

sys.meta_path.insert(0, Missing())
"""
_BLOCKED_IMPORT = (
    _BLOCKER
    + """for name in {modules!r}:
    __import__(name)
print("imported", len({modules!r}))
"""
)


def program_imports() -> list[str]:
    """The modules `__main__.py` imports."""
    tree = ast.parse((REPO / "__main__.py").read_text())
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def test_the_base_import_graph_needs_no_extra() -> None:
    modules = [
        "plume_provider.client",
        "plume_provider.resources",
        "plume_provider.fleet",
        "plume_provider.client._budget",  # every rate budget, the default machine one too
        *program_imports(),
    ]
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_IMPORT.format(blocked=EXTRAS_ONLY, modules=modules)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "plume_provider.resources.sdk_workarounds" in modules


def test_the_base_dependencies_name_no_extra_s_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    assert not [name for name in ("redis", "rich", "email") if name in base]
    assert project["optional-dependencies"]["redis"] == ["redis>=5,<9"]
    assert project["optional-dependencies"]["discover"] == ["rich>=13.7,<16"]
    assert project["optional-dependencies"]["rollout"] == ["rich>=13.7,<16"]


def without(blocked: str, code: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter where the package `blocked` cannot be imported (as in a
    venv without the extra that brings it)."""
    script = _BLOCKED_IMPORT.split("for name in", maxsplit=1)[0].format(
        blocked=(blocked,), modules=[]
    )
    return subprocess.run(
        [sys.executable, "-c", script + code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_redis_budget_without_its_extra_is_one_line_naming_the_extra() -> None:
    done = without(
        "redis",
        "from plume_provider.client._budget import RedisStore\n"
        "try:\n"
        "    RedisStore('redis://127.0.0.1:6379/0')\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [line] = done.stdout.splitlines()
    assert line.startswith("RateBudgetUnavailableError ")
    assert "pip install 'plume-fleet[redis]'" in line


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        (["discover", "crm.csv", "-o", "fleet.csv"], "discover"),
        (["rollout", "up", "--stacks", "pilot-*"], "rollout"),
    ],
)
def test_a_command_without_its_extra_is_one_line_naming_the_extra(
    tmp_path: Path, command: list[str], extra: str
) -> None:
    """Checked before any file is read, stack run or call made: not a traceback half-way."""
    done = without(
        "rich",
        f"from plume_provider.cli import main\nraise SystemExit(main({command!r}))\n",
        tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    [line] = done.stderr.splitlines()
    assert f"pip install 'plume-fleet[{extra}]'" in line
    assert list(tmp_path.iterdir()) == []
