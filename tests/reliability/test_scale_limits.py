"""Scale limits of one Pulumi program process: a pilot declares well over 1,000 resources.

`pulumi.dynamic.Resource.__init__` serializes the provider with the SDK's
`serialize_provider`, which (Pulumi 3.x, `pulumi/dynamic/dynamic.py`) installs a sorting
wrapper on `pickle._Pickler._batch_setitems` on every call and wraps the *already wrapped*
method the next time. The wrappers nest one level per dynamic resource ever declared in the
process, so after ~980 of them every further declaration fails with RecursionError. A fleet
of 500 customers x 2 nodes (1,500 resources) could never be deployed. The program makes the
documented call (`apply_sdk_workarounds`), which serializes a Plume provider once per class.

The program is run in a fresh subprocess, so the test neither depends on nor leaks into the
pickle state of the test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RESOURCES = 2_500

_PROGRAM = f"""
import pulumi
from plume_provider.resources import (
    PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs, apply_sdk_workarounds,
)

apply_sdk_workarounds()  # as README says a program declaring thousands of resources does


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return (f"{{args.name}}-id", args.inputs)

    def call(self, args):
        return ({{}}, None)


pulumi.runtime.set_mocks(Mocks(), preview=True)
for i in range({RESOURCES} // 2):
    customer = PlumeCustomer(f"customer-{{i}}", PlumeCustomerArgs(account_id=f"ACCT-{{i}}"))
    PlumeNode(
        f"node-{{i}}",
        PlumeNodeArgs(
            customer_id=customer.customer_id,
            location_id=customer.location_id,
            serial_number=f"LAB-POD-{{i:04d}}",
        ),
    )
print("declared", {RESOURCES})
"""


def test_one_program_declares_thousands_of_dynamic_resources() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    tail = "\n".join(done.stderr.strip().splitlines()[-5:])
    assert done.returncode == 0, f"declaring {RESOURCES} resources failed:\n{tail}"
    assert f"declared {RESOURCES}" in done.stdout
