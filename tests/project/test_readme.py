"""The README is part of the interface: its two commands exist, and its code example runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
MAKEFILE = (REPO / "Makefile").read_text()


def test_the_two_commands_are_make_lab_and_make_test_and_both_are_targets() -> None:
    commands = re.search(r"## The two commands\s+```sh\n(.*?)```", README, re.S)
    assert commands is not None
    lines = [line.split("#")[0].strip() for line in commands.group(1).splitlines()]
    assert lines == ["make lab", "make test"]
    for target in ("lab", "test"):
        assert re.search(rf"^{target}:", MAKEFILE, re.M), f"Makefile has no {target} target"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()


class RecordingCloud(pulumi.runtime.Mocks):
    """Answers as the providers do (camelCase outputs; ids are customer id and serial)."""

    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = (args.typ, dict(args.inputs))
        if args.typ.endswith("plume:Customer"):
            return "cust-42", {**args.inputs, "customerId": "cust-42", "locationId": "loc-42"}
        mac = "02:00:00:00:00:42"
        return args.inputs["serialNumber"], {**args.inputs, "ethernetMac": mac}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], Any]:
        return {}, None


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_readme_program_example_declares_a_customer_and_claims_its_gateway() -> Any:
    cloud = RecordingCloud()
    pulumi.runtime.set_mocks(cloud, project="plume-fleet", stack="readme", preview=False)
    example = re.search(r"```python\n(.*?)```", README, re.S)
    assert example is not None
    namespace: dict[str, Any] = {}
    exec(compile(example.group(1), "README.md", "exec"), namespace)
    gateway = namespace["gateway"]

    def verify(values: list[Any]) -> None:
        customer_id, location_id, mac = values
        assert (customer_id, location_id, mac) == ("cust-42", "loc-42", "02:00:00:00:00:42")
        node_type, node_inputs = cloud.registered["node-LAB-GW-0042"]
        assert node_type == "pulumi-python:dynamic/plume:Node"
        assert node_inputs["serialNumber"] == "LAB-GW-0042"
        assert cloud.registered["customer-CRM-42"][1]["accountId"] == "CRM-42"

    return pulumi.Output.all(gateway.customer_id, gateway.location_id, gateway.ethernet_mac).apply(
        verify
    )


def test_readme_inventory_example_is_a_valid_emulator_inventory_file(tmp_path: Path) -> None:
    from plume_emulator.seed import load_inventory

    example = re.search(r"```yaml\n(partners:.*?)```", README, re.S)
    assert example is not None
    path = tmp_path / "inventory.yaml"
    path.write_text(example.group(1))
    inventory = load_inventory(path)
    assert [p.id for p in inventory.partners] == ["acme-isp"]
    assert {n.serialNumber for n in inventory.nodes} == {"ACME-GW-0001", "ACME-PK01-1"}
