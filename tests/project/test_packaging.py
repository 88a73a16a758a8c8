"""The built wheel, as a user installs it: typed for mypy (py.typed), built without warnings.

One wheel per module, built from a copy of the source tree (a stale `build/` never leaks into
it; pip's build isolation takes setuptools from pip's cache), installed non-editable and without
dependencies into a throw-away venv outside the repo. That venv sees this test venv's
site-packages through a `.pth` line, so pulumi, httpx and mypy need no download, while the
repo's editable install (its finder runs only from this venv's own site-packages) stays out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_NOT_SOURCE = (".git", ".venv", ".lab", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")

USER_PROGRAM = """\
import pulumi

from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs

home = PlumeCustomer("customer-CRM-42", PlumeCustomerArgs(account_id="CRM-42", name="Ada"))
reveal_type(home.customer_id)
location: pulumi.Output[str] = home.location_id
pulumi.export("location", location)
"""


@dataclass(frozen=True)
class Built:
    wheel: Path
    build_log: str
    venv_python: Path


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MYPY"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("packaging")
    source, dist = root / "source", root / "dist"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(dist), str(source)],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=240,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = dist.glob("plume_fleet-*.whl")
    venv = root / "user-venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=120,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "test-venv-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    return Built(wheel, build.stdout + build.stderr, python)


def test_wheel_ships_py_typed(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        assert "plume_provider/py.typed" in wheel.namelist()


def test_wheel_ships_only_the_provider_and_the_emulator(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        packages = {name.split("/", 1)[0] for name in wheel.namelist() if "/" in name}
    assert {p for p in packages if not p.endswith(".dist-info")} == {
        "plume_provider",
        "plume_emulator",
    }


def test_user_program_sees_typed_outputs_under_mypy_strict(built: Built, tmp_path: Path) -> None:
    program = tmp_path / "user_program.py"
    program.write_text(USER_PROGRAM)
    where = subprocess.run(
        [str(built.venv_python), "-c", "import plume_provider; print(plume_provider.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(built.venv_python.parent.parent), where
    result = subprocess.run(
        [
            str(built.venv_python),
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            str(program),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    revealed = r'Revealed type is "pulumi\.output\.Output\[(builtins\.)?str\]"'
    assert re.search(revealed, output), output
    assert result.returncode == 0, output


def test_build_has_no_license_deprecation_warning(built: Built) -> None:
    log = built.build_log
    assert "Created wheel for plume-fleet" in log
    assert "project.license" not in log, textwrap.shorten(log[-2000:], 2000)
