"""`make lab`, the README's first command: driven with a stand-in `pulumi` that records what it is
asked to do, and once more with neither `pulumi` nor Go. The real CLI runs `make lab` in
tests/cli/test_make_lab_offline.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from plume_testkit.ports import free_port

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

STAND_IN_PULUMI = """#!{python}
import json, os, sys, urllib.request
record = {{"argv": sys.argv[1:], "cwd": os.getcwd(),
          "env": {{k: v for k, v in os.environ.items() if k.startswith("PULUMI_")}}}}
if sys.argv[1:2] == ["up"]:
    url = os.environ["STAND_IN_EMULATOR_URL"] + "/_emulator/health"
    with urllib.request.urlopen(url, timeout=5) as response:
        record["emulator_health"] = json.loads(response.read())
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
"""


def make_lab(env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the README's first command as a user would, from the repository root."""
    return subprocess.run(
        ["make", "--no-print-directory", "lab"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def base_env(path: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PLUME_"))}
    return {**keep, "PATH": path, "VENV": str(VENV), "PYTHON": sys.executable}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A lab dir and port of this test's own; whatever emulator `make lab` starts is stopped."""
    lab_dir = tmp_path / "lab"
    port = free_port()
    yield {"dir": lab_dir, "port": port}
    subprocess.run(
        ["scripts/lab.sh", "stop-emulator"],
        cwd=REPO,
        env={**os.environ, "LAB_DIR": str(lab_dir)},
        capture_output=True,
        check=False,
    )


def test_make_lab_starts_the_emulator_and_runs_up_on_the_lab_stack(
    tmp_path: Path, lab: dict[str, Any]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "pulumi"
    stand_in.write_text(STAND_IN_PULUMI.format(python=sys.executable))
    stand_in.chmod(0o755)
    log = tmp_path / "pulumi-calls.jsonl"
    url = f"http://127.0.0.1:{lab['port']}"
    env = base_env(f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env.update(
        LAB_DIR=str(lab["dir"]),
        LAB_PORT=str(lab["port"]),
        STAND_IN_LOG=str(log),
        STAND_IN_EMULATOR_URL=url,
    )

    result = make_lab(env, timeout=240)

    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call["argv"][:2] for call in calls] == [["stack", "select"], ["up", "--yes"]]
    select, up = calls
    assert "lab" in select["argv"]
    assert up["argv"][up["argv"].index("--stack") + 1] == "lab"
    # LAB_PORT reaches the CLI through a generated copy of the stack file, never the tracked one.
    config_file = Path(up["argv"][up["argv"].index("--config-file") + 1])
    assert config_file == lab["dir"] / "project" / "stacks" / "Pulumi.lab.yaml"
    generated = yaml.safe_load(config_file.read_text())["config"]
    tracked = yaml.safe_load((REPO / "stacks" / "Pulumi.lab.yaml").read_text())["config"]
    assert generated["plume:apiUrl"] == f"{url}/api"
    assert generated["plume:tokenUrl"] == f"{url}/oauth2/token"
    assert {k: v for k, v in generated.items() if "Url" not in k} == {
        k: v for k, v in tracked.items() if "Url" not in k
    }
    assert tracked["plume:apiUrl"] == "http://127.0.0.1:8765/api"
    assert up["emulator_health"] == {"status": "ok"}
    assert f"using the Pulumi CLI on PATH: {stand_in}" in result.stdout
    for call in calls:
        assert call["env"]["PULUMI_SKIP_UPDATE_CHECK"] == "true"
        assert call["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
        assert call["env"]["PULUMI_HOME"] == str((lab["dir"] / "pulumi-home").resolve())
    state_dir = (lab["dir"] / "state").resolve()
    for call in calls:
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{state_dir}?metadata=skip"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "plume-lab"
        project = yaml.safe_load((Path(call["cwd"]) / "Pulumi.yaml").read_text())
        assert project["name"] == "plume-fleet"
        assert (Path(call["cwd"]) / project["stackConfigDir"] / "Pulumi.lab.yaml").is_file()
    assert state_dir.is_dir()
    assert (lab["dir"] / "emulator.pid").is_file()
    assert httpx.get(f"{url}/_emulator/health").json() == {"status": "ok"}


def test_make_lab_without_pulumi_says_how_to_install_it_and_starts_nothing(
    tmp_path: Path, lab: dict[str, Any]
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("make", "bash", "env", "dirname"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run make lab"
        (tools / tool).symlink_to(found)
    env = base_env(str(tools))
    env.update(LAB_DIR=str(lab["dir"]), LAB_PORT=str(lab["port"]))

    result = make_lab(env, timeout=60)

    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(lines) == 1, result.stderr
    assert "Pulumi CLI is not installed and Go is not there to build it" in lines[0]
    assert "make pulumi-cli" in lines[0]
    assert "get.pulumi.com" in lines[0]
    assert not lab["dir"].exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{lab['port']}/_emulator/health")
