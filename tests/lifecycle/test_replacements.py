"""Replacements through the whole stack: the real program and host, the engine double, Plume.

A customer's `profile`, `acceptLanguage` or `partnerId` is fixed at registration, so changing one
replaces the customer, deleting first. Its nodes must be unclaimed while the old customer is
still there (dependents first), then claimed again at the new customer's location, with the
partner's license count back where it was. A node whose location alone changes is replaced too.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.lifecycle.conftest import Lab

ADA, GRACE = "LAB-ACCT-0001", "LAB-ACCT-0002"
CUSTOMER = "/api/Customers/{customerId}"
LOCATION = CUSTOMER + "/locations/{locationId}"
NODES = LOCATION + "/nodes"
NODE = NODES + "/{serialNumber}"
LOOKUP = "/api/Partners/nodes/{serialNumber}"
REGISTER = "/api/Customers/register"


def answers(lab: Lab, method: str, route: str) -> Counter[int]:
    """Status -> count of the emulator's answers to (method, route) since the last reset."""
    counts: Counter[int] = Counter()
    for row in lab.emulator.stats()["requests"]:
        if (row["method"], row["route"]) == (method, route):
            counts[int(row["status"])] += int(row["count"])
    return counts


def serials_of(lab: Lab, account_id: str) -> list[str]:
    return [n["serialNumber"] for n in lab.customer(lab.customers, account_id)["nodes"]]


def where_claimed(lab: Lab) -> dict[str, tuple[str, str]]:
    rows = lab.partner()["claimed_nodes"]
    return {r["serialNumber"]: (r["customerId"], r["locationId"]) for r in rows}


@pytest.mark.parametrize(
    ("account", "field", "value"),
    [
        pytest.param(GRACE, "profile", "smallbusiness", id="profile-grace-with-a-pack"),
        pytest.param(ADA, "acceptLanguage", "de-DE", id="acceptLanguage-ada"),
    ],
)
def test_customer_replaced_by_a_registration_field_moves_its_nodes_to_the_new_customer(
    lab: Lab, account: str, field: str, value: str
) -> None:
    lab.engine.up()
    old = lab.engine.checkpoint().get(lab.customer_urn(account))
    assert old is not None
    old_id, old_location = old.id, old.outputs["locationId"]
    serials = serials_of(lab, account)
    others = {s: where for s, where in where_claimed(lab).items() if s not in serials}
    lab.emulator.reset_stats()
    customers = lab.customers
    lab.customer(customers, account)[field] = value
    lab.set_customers(customers)

    result = lab.engine.up()

    customer_urn = lab.customer_urn(account)
    node_urns = [lab.node_urn(s) for s in serials]
    assert result.changes == {"delete-replaced": 1 + len(serials), "replace": 1 + len(serials)}
    # Dependents first: every node is unclaimed before the old customer is deleted, and claimed
    # again only once the new customer exists.
    deleted_customer = result.steps.index(("delete-replaced", customer_urn))
    created_customer = result.steps.index(("replace", customer_urn))
    for urn in node_urns:
        assert result.steps.index(("delete-replaced", urn)) < deleted_customer, urn
        assert result.steps.index(("replace", urn)) > created_customer, urn
    # ... so each unclaim reached the live old customer (204), not a deleted one.
    assert answers(lab, "DELETE", NODE) == {204: len(serials)}
    assert answers(lab, "DELETE", CUSTOMER) == {200: 1}
    assert answers(lab, "POST", REGISTER) == {200: 1}

    new_id = lab.customer_id(account)
    assert new_id != old_id
    live = {c["id"]: c for c in lab.partner()["customers"]}
    assert old_id not in live
    assert live[new_id]["accountId"] == account
    [new_location] = [loc["id"] for loc in live[new_id]["locations"]]
    assert new_location != old_location
    if field == "profile":  # a location's property in Plume
        [location] = lab.api.get(f"/Customers/{new_id}/locations").json()
        assert location["profile"] == value
    else:
        assert lab.api.get(f"/Customers/{new_id}").json()[field] == value
    # Every node is claimed again, at the new customer's location; nobody else's moved.
    claimed = where_claimed(lab)
    assert {s: claimed[s] for s in serials} == dict.fromkeys(serials, (new_id, new_location))
    assert {s: w for s, w in claimed.items() if s not in serials} == others
    assert lab.partner()["licenses_in_use"] == 7
    assert result.outputs["licensesInUse"] == 7
    for serial in serials:
        saved = lab.engine.checkpoint().get(lab.node_urn(serial))
        assert saved is not None
        assert (saved.outputs["customerId"], saved.outputs["locationId"]) == (
            new_id,
            new_location,
        )
    assert lab.engine.up().counts == {"same": 10}


def test_partner_id_change_plans_replacing_every_customer_and_node(lab: Lab) -> None:
    """The fleet's customers take the provider's `plume:partnerId`; a real move needs the other
    partner's credentials, so the plan is what is checked: everything replaced, nothing called."""
    lab.engine.up()
    lab.emulator.reset_stats()
    lab.engine.stack_config["plume:partnerId"] = "other-partner"

    plan = lab.engine.preview()

    assert plan.changes == {"replace": 10}
    assert set(plan.urns("replace")) == {
        *(lab.customer_urn(c["accountId"]) for c in lab.customers),
        *(lab.node_urn(s) for s in lab.serials()),
    }
    assert lab.mutating_calls() == {}


def test_location_change_alone_replaces_the_nodes(lab: Lab) -> None:
    """Ada's location is replaced out of band (Plume archives it, unclaims its nodes and opens a
    new one); a refresh reads the customer's new location but cannot read the nodes (Plume
    errors), so their state still names the old location under the same customer id. The next
    `up` must move them: unclaim at the old location (already done: success), claim at the new.
    """
    lab.engine.up()
    ada_id = lab.customer_id(ADA)
    ada = lab.engine.checkpoint().get(lab.customer_urn(ADA))
    assert ada is not None
    old_location = ada.outputs["locationId"]
    assert lab.api.delete(f"/Customers/{ada_id}/locations/{old_location}").status_code == 204
    # A node is read by its location's listing (one per location), else by a lookup.
    lab.emulator.set_faults(
        [
            {"method": "GET", "path": LOOKUP, "status": 400},
            {"method": "GET", "path": NODES, "status": 400},
        ]
    )
    refreshed = lab.engine.refresh(raise_on_error=False)
    lab.emulator.clear_faults()
    assert {e.urn for e in refreshed.errors} == {lab.node_urn(s) for s in lab.serials()}, (
        "every node read failed, as arranged"
    )
    ada = lab.engine.checkpoint().get(lab.customer_urn(ADA))
    assert ada is not None
    new_location = ada.outputs["locationId"]
    assert (ada.id, new_location != old_location) == (ada_id, True)
    serials = serials_of(lab, ADA)
    for serial in serials:
        saved = lab.engine.checkpoint().get(lab.node_urn(serial))
        assert saved is not None
        assert (saved.outputs["customerId"], saved.outputs["locationId"]) == (ada_id, old_location)
    lab.emulator.reset_stats()

    result = lab.engine.up()

    node_urns = {lab.node_urn(s) for s in serials}
    assert set(result.urns("replace")) == node_urns
    assert set(result.urns("delete-replaced")) == node_urns
    assert result.changes == {"delete-replaced": len(serials), "replace": len(serials)}
    claimed = where_claimed(lab)
    assert {s: claimed[s] for s in serials} == dict.fromkeys(serials, (ada_id, new_location))
    assert lab.partner()["licenses_in_use"] == 7
    assert answers(lab, "POST", NODES)[200] == len(serials)
