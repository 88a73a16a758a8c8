"""Adding a customer field is one edit of the field table: in a copy of `plume_provider`, one
made-up entry in `client/customer_fields.py` flows through the fleet file (a column), the
program (`CustomerSpec.customer_inputs()` -> `PlumeCustomerArgs` -> the resource's properties),
the provider (check accepts it, diff updates it in place by the PATCH, whose body carries it),
the register body and discover's comparison, with no other file touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLE = "plume_provider/client/customer_fields.py"

NEW_FIELD = """    CustomerField(
        "serviceTier",
        str,
        "The ISP's service tier (a made-up field of this test).",
        change="update_customer",
        equal=stripped,
    ),
"""

FLOW = r"""
import json, sys
from pathlib import Path

from plume_provider.client.customer_fields import CUSTOMER_FIELDS
from plume_provider.client.models import CustomerRegistration, CustomerUpdate
from plume_provider.discover.reconcile import COMPARED
from plume_provider.fleet import load_fleet
from plume_provider.resources.customer import CustomerProvider, PlumeCustomer, PlumeCustomerArgs

root = Path(sys.argv[1])
(root / "fleet.csv").write_text("accountId,name,serviceTier\nT-1,Tea One,gold\n")
spec = load_fleet({"fleetFile": "fleet.csv"}, root=root).customers[0]
args = PlumeCustomerArgs(**spec.customer_inputs())
props = {
    PlumeCustomer._to_property.get(name, name): value
    for name, value in PlumeCustomer._arguments("customer-T-1", args).items()
    if value is not None
}
provider = CustomerProvider()
checked = provider.check({}, props)
olds = {**checked.inputs, "customerId": "c-1", "locationId": "l-1"}
unchanged = provider.diff("c-1", olds, {**checked.inputs, "serviceTier": " gold "})
changed = provider.diff("c-1", olds, {**checked.inputs, "serviceTier": "silver"})
registration = CustomerRegistration.model_validate(
    {k: v for k, v in checked.inputs.items() if k in CustomerRegistration.model_fields
     or k in {f.alias for f in CustomerRegistration.model_fields.values()}}
)
print(json.dumps({
    "spec": spec.service_tier,
    "props": props.get("serviceTier"),
    "failures": [f.reason for f in checked.failures],
    "checked": checked.inputs.get("serviceTier"),
    "unchanged": unchanged.changes,
    "changed": changed.changes,
    "replaces": changed.replaces,
    "register_body": registration.model_dump(by_alias=True, exclude_none=True).get("serviceTier"),
    "patch_fields": list(CustomerUpdate.model_fields),
    "discover_compares": [f.prop for f in COMPARED],
    "fleet_columns": [f.prop for f in CUSTOMER_FIELDS.fleet],
}))
"""


def test_a_made_up_field_added_to_the_table_flows_through_every_layer(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "plume_provider", tree / "plume_provider")
    table = tree / TABLE
    source = table.read_text(encoding="utf-8")
    anchor = '    CustomerField(\n        "createdAt",'
    assert anchor in source
    table.write_text(source.replace(anchor, NEW_FIELD + anchor, 1), encoding="utf-8")
    changed_files = [
        path.relative_to(tree).as_posix()
        for path in (tree / "plume_provider").rglob("*.py")
        if path.read_bytes() != (REPO / path.relative_to(tree)).read_bytes()
    ]
    assert changed_files == [TABLE]

    work = tmp_path / "work"
    work.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLUME_")},
        "PYTHONPATH": str(tree),
        "PLUME_PARTNER_ID": "lab-partner",
    }
    done = subprocess.run(
        [sys.executable, "-c", FLOW, str(work)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    flow = json.loads(done.stdout.splitlines()[-1])
    assert flow["spec"] == "gold"  # the fleet file's column, into the fleet model
    assert flow["props"] == "gold"  # the program's declaration, into the resource
    assert flow["failures"] == []
    assert flow["checked"] == "gold"
    assert flow["unchanged"] is False  # its own equality (stripped)
    assert flow["changed"] is True
    assert flow["replaces"] == []  # in place, by the PATCH
    assert flow["register_body"] == "gold"
    assert "service_tier" in flow["patch_fields"]
    assert "serviceTier" in flow["discover_compares"]
    assert "serviceTier" in flow["fleet_columns"]
