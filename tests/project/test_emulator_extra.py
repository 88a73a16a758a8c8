"""The emulator is an extra: the provider imports without FastAPI, uvicorn or plume_emulator.

The subprocesses start with an import hook that refuses those modules and records every
attempt, so an import that is tried and caught counts as much as one that fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BLOCKED = ("fastapi", "starlette", "uvicorn", "plume_emulator")

PRELUDE = """
import sys
BLOCKED = {blocked!r}
tried = []

class Refuse:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            tried.append(name)
            message = f"No module named {{name!r}} (refused by the test)"
            raise ModuleNotFoundError(message, name=name)
        return None

assert not set(BLOCKED) & {{m.split(".")[0] for m in sys.modules}}, sys.modules.keys()
sys.meta_path.insert(0, Refuse)
"""

IMPORT_EVERY_PROVIDER_MODULE = """
import importlib, pkgutil
import plume_provider, plume_provider.resources
names = [m.name for m in pkgutil.walk_packages(plume_provider.__path__, "plume_provider.")]
for name in names:
    importlib.import_module(name)
print(len(names), tried)
"""

RUN_EMULATOR_COMMAND = """
import runpy
runpy.run_module("plume_emulator", run_name="__main__", alter_sys=True)
"""


def _run(code: str, blocked: tuple[str, ...] = BLOCKED) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter on this checkout, with ``blocked`` unimportable."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE.format(blocked=blocked) + code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
        check=False,
    )


def test_every_provider_module_imports_without_the_emulator_extra() -> None:
    result = _run(IMPORT_EVERY_PROVIDER_MODULE)
    assert result.returncode == 0, result.stderr
    count, tried = result.stdout.split(" ", 1)
    assert int(count) > 10, result.stdout
    assert tried.strip() == "[]", f"plume_provider tried to import {tried.strip()}"


def test_the_refusing_hook_does_refuse() -> None:
    result = _run("import plume_emulator.app")
    assert result.returncode != 0
    assert "refused by the test" in result.stderr


def test_emulator_command_without_the_extra_says_what_to_install_in_one_line() -> None:
    result = _run(RUN_EMULATOR_COMMAND, blocked=("fastapi", "starlette", "uvicorn"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("plume-emulator: ")
    assert "pip install 'plume-fleet[emulator]'" in lines[0]


def test_fastapi_and_uvicorn_are_the_emulator_extra_and_the_venv_installs_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {dep.split(">")[0].split("[")[0] for dep in project["dependencies"]}
    extra = {dep.split(">")[0] for dep in project["optional-dependencies"]["emulator"]}
    assert not base & {"fastapi", "uvicorn", "starlette"}, sorted(base)
    assert {"fastapi", "uvicorn"} <= extra
    assert "-e '.[test,emulator,redis,discover]'" in (REPO / "scripts" / "venv.sh").read_text()
