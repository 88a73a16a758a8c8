"""Removal guard benchmark: what reading the stack's current state costs the program before it
declares anything. A file-backend stack of N customers with two nodes each (default 2,000, so
6,000 resources), each resource shaped like one the real CLI writes (inputs, outputs, pickled
provider, stack trace), is written as the stack's checkpoint; then `pulumi stack export` (the
pinned CLI) and the program's whole guard (`read_stack_state`, `plan_fleet`, `removal_problem`)
are timed against a fleet declaring the same customers. Prints wall times; asserts nothing.

    .venv/bin/python bench/stack_state.py                  # 2,000 customers, best of 3
    .venv/bin/python bench/stack_state.py --customers 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from plume_provider.fleet import (  # noqa: E402
    load_fleet,
    plan_fleet,
    read_allowance,
    read_stack_state,
    removal_problem,
)
from plume_testkit.cli import CliStack, find_cli  # noqa: E402

PROJECT, STACK = "plume-fleet", "bench"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:pulumi-python::default"
PROVIDER_ID = "3c36a1f6-c515-4a3c-a3e8-971d46381d9d"
PICKLE = "gASV" + "A" * 112  # the length of a real pickled provider reference
TRACE = [{"sourcePosition": f"project:///plume_provider/resources/base.py#{n}"} for n in range(11)]


def _resource(kind: str, name: str, outputs: dict[str, Any]) -> dict[str, Any]:
    inputs = {"__provider": PICKLE, **{k: v for k, v in outputs.items() if k != "customerId"}}
    return {
        "urn": f"urn:pulumi:{STACK}::{PROJECT}::pulumi-python:dynamic/plume:{kind}::{name}",
        "custom": True,
        "id": outputs.get("serialNumber") or outputs["customerId"],
        "type": f"pulumi-python:dynamic/plume:{kind}",
        "inputs": inputs,
        "outputs": {"__provider": PICKLE, **outputs},
        "parent": STACK_URN,
        "provider": f"{PROVIDER_URN}::{PROVIDER_ID}",
        "propertyDependencies": {k: [] for k in inputs},
        "created": "2026-12-03T10:11:18.653084982Z",
        "modified": "2026-12-03T10:11:18.653084982Z",
        "stackTrace": TRACE,
    }


def fleet_config(customers: int) -> list[dict[str, Any]]:
    """The declared fleet: N customers, two nodes each."""
    return [
        {
            "accountId": f"CRM-{i:06d}",
            "name": f"Customer {i}",
            "email": f"customer.{i}@example.org",
            "nodes": [
                {"serialNumber": f"GW-{i:06d}", "nickname": "Hall"},
                {"serialNumber": f"POD-{i:06d}", "nickname": "Study"},
            ],
        }
        for i in range(customers)
    ]


def checkpoint(fleet: list[dict[str, Any]]) -> dict[str, Any]:
    """A stack's checkpoint file holding every customer and node of `fleet`."""
    resources: list[dict[str, Any]] = [
        {"urn": STACK_URN, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}},
        {
            "urn": PROVIDER_URN,
            "custom": True,
            "id": PROVIDER_ID,
            "type": "pulumi:providers:pulumi-python",
        },
    ]
    for i, spec in enumerate(fleet):
        customer_id = f"{i:024x}"
        declared = {k: v for k, v in spec.items() if k != "nodes"}
        outputs = {**declared, "customerId": customer_id, "locationId": f"{i + 10**9:024x}"}
        outputs |= {"profile": "auto", "acceptLanguage": "en-US"}
        resources.append(_resource("Customer", f"customer-{spec['accountId']}", outputs))
        for node in spec["nodes"]:
            serial = node["serialNumber"]
            node_outputs = {**node, "customerId": customer_id}
            resources.append(_resource("Node", f"node-{serial}", node_outputs))
    deployment = {"manifest": {"time": "2026-12-03T10:11:17Z", "magic": "", "version": ""}}
    return {
        "version": 3,
        "checkpoint": {
            "stack": f"organization/{PROJECT}/{STACK}",
            "latest": {**deployment, "resources": resources},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cli = find_cli()
    if cli is None:
        sys.exit("no pulumi CLI: run `make pulumi-cli` first")
    with tempfile.TemporaryDirectory() as tmp:
        stack = CliStack(cli, Path(tmp), {}, STACK, passphrase="bench")
        state_file = Path(tmp) / "state" / ".pulumi" / "stacks" / PROJECT / f"{STACK}.json"
        declared = fleet_config(args.customers)
        state_file.write_text(json.dumps(checkpoint(declared), indent=4))
        os.environ.update(stack.env)
        fleet = load_fleet({"customers": json.dumps(declared)})
        name = f"organization/{PROJECT}/{STACK}"
        export, guard = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(
                [str(cli), "stack", "export", "--stack", name, "--non-interactive"],
                cwd=stack.project,
                capture_output=True,
                check=True,
            )
            export.append(time.perf_counter() - start)
            start = time.perf_counter()
            state = read_stack_state(name, cwd=stack.project)
            plan = plan_fleet(fleet, state)
            refused = removal_problem(plan, read_allowance({}, None, state.outputs))
            guard.append(time.perf_counter() - start)
        resources = len(state.customers) + len(state.nodes)
        print(
            f"{resources:,} resources ({state_file.stat().st_size / 1e6:.1f} MB checkpoint): "
            f"`pulumi stack export` best {min(export):.2f} s, worst {max(export):.2f} s; "
            f"the whole guard (export, parse, plan) best {min(guard):.2f} s, worst "
            f"{max(guard):.2f} s over {args.repeat} runs; refused: {refused is not None}"
        )


if __name__ == "__main__":
    main()
