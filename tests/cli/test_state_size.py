"""Under the real CLI: what the state keeps of each declared resource, as a team's state is read
on other machines. A resource's `sourcePosition` is the program's line that declared it, its
stack trace holds the program's frames only (no SDK, asyncio or language-host frame, no path of
the machine that ran the update), and the checkpoint file stays at most 2.5 KB per resource.

One resource is out of the program's reach: the SDK registers the root `pulumi:pulumi:Stack`
before the program's first line runs, with its own full stack trace (docs/upstream.md,
"A resource's saved stack trace is the SDK's, with absolute paths"). The test finds the
machine's paths there and nowhere else."""

from __future__ import annotations

import json
import re
from pathlib import Path

from plume_testkit.cli_lab import CliLab
from plume_testkit.lab_fleet import CUSTOMER_TYPE, NODE_TYPE

BYTES_PER_RESOURCE = 2_500
STACK_TYPE = "pulumi:pulumi:Stack"
SDK_ROOT_TRACE = ("sourcePosition", "stackTrace")
MACHINE_PATHS = ("/root", "/work", "/tmp", ".venv", "site-packages", "asyncio", "pulumi/runtime")


def declaring_lines(program: Path, call: str) -> set[int]:
    """The program's lines that call `call(` (1-based)."""
    return {
        number
        for number, line in enumerate(program.read_text().splitlines(), start=1)
        if re.search(rf"\b{call}\(", line)
    }


def test_a_declared_resource_is_saved_with_the_program_s_line_and_no_machine_path(
    cli_lab: CliLab,
) -> None:
    cli_lab.up()
    program = cli_lab.project / "__main__.py"
    lines = {
        CUSTOMER_TYPE: declaring_lines(program, "PlumeCustomer"),
        NODE_TYPE: declaring_lines(program, "PlumeNode"),
    }
    resources = cli_lab.resources()
    assert len(resources) == 10
    for urn, saved in resources.items():
        uri, _, line = saved["sourcePosition"].partition("#")
        assert uri == "project:///__main__.py", urn
        assert int(line) in lines[saved["type"]], urn
        frames = [frame["sourcePosition"] for frame in saved["stackTrace"]]
        assert frames[0] == saved["sourcePosition"]
        assert all(frame.startswith("project:///__main__.py#") for frame in frames), frames
    checkpoint = cli_lab.root / "state" / ".pulumi" / "stacks" / "plume-fleet" / "lab.json"
    saved_state = json.loads(checkpoint.read_text())["checkpoint"]["latest"]["resources"]
    for state in (cli_lab.export()["deployment"]["resources"], saved_state):
        for found in state:
            kept = {
                k: v
                for k, v in found.items()
                if found["type"] != STACK_TYPE or k not in SDK_ROOT_TRACE
            }
            text = json.dumps(kept)
            assert not [path for path in MACHINE_PATHS if path in text], found["urn"]
    per_resource = checkpoint.stat().st_size / len(saved_state)
    print(f"\ncheckpoint: {checkpoint.stat().st_size} bytes, {per_resource:.0f} per resource")
    assert per_resource <= BYTES_PER_RESOURCE
