"""`make lab`, the README's first command, on the real CLI and with no network beyond loopback:
run inside a network namespace whose only interface is `lo`, so any update check, plugin
download or other outside call would fail the run.

Up from nothing (3 customers, 7 nodes, 7 licenses), a second `make lab` with 0 mutating calls,
`make destroy` back to 0 licenses; the tracked stack file is never rewritten, even with LAB_PORT.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plume_testkit import REPO_ROOT as REPO
from plume_testkit.cli import VENV
from plume_testkit.ports import free_port

LAB_SCRIPT = r"""
set -euo pipefail
ip link set lo up
emulator() { "$VENV/bin/python" -c 'import json, sys, urllib.request
url = "http://127.0.0.1:" + sys.argv[1] + "/_emulator/" + sys.argv[2]
request = urllib.request.Request(url, method=sys.argv[3])
with urllib.request.urlopen(request, timeout=10) as response:
    body = response.read()
print(json.dumps({"step": sys.argv[4], "body": json.loads(body) if body else None}))' \
  "$LAB_PORT" "$@"; }
make --no-print-directory lab
emulator state GET after-first-lab
emulator stats DELETE reset
make --no-print-directory lab
emulator stats GET after-second-lab
make --no-print-directory destroy
emulator state GET after-destroy
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_make_lab_runs_offline_up_again_and_destroy(pulumi_cli: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root here")
    tracked = (REPO / "stacks" / "Pulumi.lab.yaml").read_bytes()
    lab_dir = tmp_path / "lab"
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PLUME_"))}
    path = os.pathsep.join([str(pulumi_cli.parent), keep["PATH"]])
    env = {
        **keep,
        "PATH": path,
        "LAB_DIR": str(lab_dir),
        "LAB_PORT": str(port),
        "VENV": str(VENV),
        "PYTHON": sys.executable,
    }
    try:
        done = subprocess.run(
            ["unshare", "--net", "bash", "-c", LAB_SCRIPT],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        subprocess.run(
            ["scripts/lab.sh", "stop-emulator"],
            cwd=REPO,
            env={**os.environ, "LAB_DIR": str(lab_dir)},
            capture_output=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    steps = {
        record["step"]: record["body"]
        for line in done.stdout.splitlines()
        if line.startswith('{"step"')
        for record in [json.loads(line)]
    }
    first = steps["after-first-lab"]["partners"]["lab-partner"]
    assert len(first["customers"]) == 3
    assert len(first["claimed_nodes"]) == 7
    assert first["licenses_in_use"] == 7
    second = [
        row
        for row in steps["after-second-lab"]["requests"]
        if row["route"].startswith("/api") and row["method"] in {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert second == []
    gone = steps["after-destroy"]["partners"]["lab-partner"]
    assert gone["customers"] == []
    assert gone["licenses_in_use"] == 0
    assert "using the Pulumi CLI on PATH: " in done.stdout  # it says which CLI it runs
    assert (REPO / "stacks" / "Pulumi.lab.yaml").read_bytes() == tracked
