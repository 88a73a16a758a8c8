"""Lifecycle of the lab stack, as ``pulumi up/preview/refresh/destroy`` would run it.

The real program and the real dynamic-provider host, driven by the engine double, against a
fresh emulator per test; API effects are asserted with the emulator's stats and state.
"""

from __future__ import annotations

import pytest

from plume_testkit.enginedouble.engine import EngineError
from plume_testkit.lab_fleet import CUSTOMER_TYPE, NODE_TYPE
from tests.lifecycle.conftest import Lab

ADA, GRACE, CAFE = "LAB-ACCT-0001", "LAB-ACCT-0002", "LAB-ACCT-0003"
CUSTOMER = "/api/Customers/{customerId}"
NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"
NODE = NODES + "/{serialNumber}"
RENAME = NODES + "/{nodeId}"
REGISTER = "/api/Customers/register"


def test_up_from_empty_creates_the_lab_fleet(lab: Lab) -> None:
    result = lab.engine.up()

    assert result.counts == {"create": 10}
    partner = lab.partner()
    assert {c["accountId"] for c in partner["customers"]} == {ADA, GRACE, CAFE}
    claimed = lab.claimed()
    assert set(claimed) == lab.serials()
    for spec in lab.customers:
        for node in spec["nodes"]:
            assert claimed[node["serialNumber"]] == lab.customer_id(spec["accountId"])
    assert partner["licenses_in_use"] == 7
    # Nodes took their customer's real ids (outputs flowed from customer to node).
    assert result.outputs["customers"][GRACE]["customerId"] == lab.customer_id(GRACE)
    assert result.outputs["nodes"]["LAB-PK01-2"]["customerId"] == lab.customer_id(GRACE)
    assert result.outputs["licensesInUse"] == 7
    # Claiming the first extender of LAB-PACK-01 claimed the whole pack: the provider says so.
    assert result.host_log.count("of its pack") == 1
    node = lab.engine.checkpoint().get(lab.node_urn("LAB-GW-0001"))
    assert node is not None
    assert node.dependencies == [lab.customer_urn(ADA)]


def test_second_up_and_preview_make_no_mutating_calls(lab: Lab) -> None:
    lab.engine.up()
    lab.emulator.reset_stats()

    again = lab.engine.up()
    assert again.counts == {"same": 10}
    assert lab.mutating_calls() == {}

    plan = lab.engine.preview()
    assert plan.counts == {"same": 10}
    assert plan.mutating_calls == []
    assert lab.mutating_calls() == {}

    customers = lab.customers
    customers[0]["nodes"][0]["nickname"] = "Front room"
    customers[2]["nodes"].append({"serialNumber": "LAB-POD-0002", "nickname": "Terrace"})
    lab.set_customers(customers)
    plan = lab.engine.preview()
    assert plan.changes == {"update": 1, "create": 1}
    assert lab.mutating_calls() == {}
    assert lab.engine.up().changes == {"update": 1, "create": 1}


def test_preview_from_empty_plans_everything_without_calls(lab: Lab) -> None:
    plan = lab.engine.preview()
    assert plan.counts == {"create": 10}
    assert lab.api_requests() == {}
    assert not lab.engine.state_path.exists()


def test_nickname_change_is_one_rename(lab: Lab) -> None:
    lab.engine.up()
    lab.emulator.reset_stats()
    customers = lab.customers
    customers[1]["nodes"][1]["nickname"] = "Kitchen (new)"  # LAB-PK01-1
    lab.set_customers(customers)

    result = lab.engine.up()

    assert result.changes == {"update": 1}
    assert result.urns("update") == [lab.node_urn("LAB-PK01-1")]
    assert lab.mutating_calls() == {("PUT", RENAME): 1}


def test_moving_a_node_unclaims_then_claims(lab: Lab) -> None:
    lab.engine.up()
    lab.emulator.reset_stats()
    customers = lab.customers
    study = customers[0]["nodes"].pop(1)  # LAB-POD-0001 from Ada ...
    lab.customer(customers, CAFE)["nodes"].append(study)  # ... to the café
    lab.set_customers(customers)

    result = lab.engine.up()

    urn = lab.node_urn("LAB-POD-0001")
    assert result.steps.index(("delete-replaced", urn)) < result.steps.index(("replace", urn))
    assert result.changes == {"delete-replaced": 1, "replace": 1}
    assert lab.mutating_calls() == {("DELETE", NODE): 1, ("POST", NODES): 1}
    assert lab.claimed()["LAB-POD-0001"] == lab.customer_id(CAFE)


def test_removing_a_customer_unclaims_its_nodes_then_deletes_it(lab: Lab) -> None:
    lab.engine.up()
    cafe_id = lab.customer_id(CAFE)
    lab.emulator.reset_stats()
    lab.set_customers([c for c in lab.customers if c["accountId"] != CAFE])

    result = lab.engine.up()

    assert result.changes == {"delete": 2}
    assert result.urns("delete") == [lab.node_urn("LAB-GW-0003"), lab.customer_urn(CAFE)]
    assert lab.mutating_calls() == {("DELETE", NODE): 1, ("DELETE", CUSTOMER): 1}
    assert cafe_id not in {c["id"] for c in lab.partner()["customers"]}
    assert "LAB-GW-0003" not in lab.claimed()
    assert result.outputs["licensesInUse"] == 6


def test_refresh_after_out_of_band_changes_then_up_restores(lab: Lab) -> None:
    lab.engine.up()
    ada = lab.engine.checkpoint().get(lab.customer_urn(ADA))
    assert ada is not None
    study = f"/Customers/{ada.id}/locations/{ada.outputs['locationId']}/nodes/LAB-POD-0001"
    assert lab.api.delete(study).status_code == 204
    assert lab.api.delete(f"/Customers/{lab.customer_id(CAFE)}").status_code == 200
    lab.emulator.reset_stats()

    refreshed = lab.engine.refresh()

    gone = {lab.node_urn("LAB-POD-0001"), lab.customer_urn(CAFE), lab.node_urn("LAB-GW-0003")}
    assert set(refreshed.urns("delete")) == gone
    assert refreshed.counts["same"] == 7
    assert lab.mutating_calls() == {}
    saved = {r.urn for r in lab.engine.checkpoint().resources}
    assert not saved & gone
    assert len(saved) == 7

    restored = lab.engine.up()

    assert restored.changes == {"create": 3}
    assert set(restored.urns("create")) == gone
    assert set(lab.claimed()) == lab.serials()
    assert len(lab.partner()["customers"]) == 3


def test_adopt_takes_over_out_of_band_customer_and_node(lab: Lab) -> None:
    # Registered earlier from the CRM, with an older email address.
    registered = lab.api.post(
        "/Customers/register",
        json={
            "accountId": ADA,
            "partnerId": lab.credentials.partner_id,
            "name": "Ada Lovelace",
            "email": "ada@old.example.org",
        },
    )
    registered.raise_for_status()
    existing_id = registered.json()["id"]
    location_id = registered.json()["locationId"]
    claim = lab.api.post(
        f"/Customers/{existing_id}/locations/{location_id}/nodes",
        json={"serialNumber": "LAB-GW-0001", "nickname": "Living room gateway"},
    )
    claim.raise_for_status()

    # Without adopt the register answers 409 and the run says how to take it over.
    with pytest.raises(EngineError) as caught:
        lab.engine.up()
    result = caught.value.result
    [error] = result.errors
    assert error.urn == lab.customer_urn(ADA)
    assert error.op == "create"
    assert "409" in error.message
    assert "adopt: true" in error.message
    assert set(result.skipped) == {lab.node_urn("LAB-GW-0001"), lab.node_urn("LAB-POD-0001")}
    assert result.counts == {"create": 7}  # the other customers and their nodes went ahead
    assert lab.engine.checkpoint().get(lab.customer_urn(ADA)) is None
    assert len([c for c in lab.partner()["customers"] if c["accountId"] == ADA]) == 1

    customers = lab.customers
    lab.customer(customers, ADA)["adopt"] = True
    lab.set_customers(customers)
    lab.emulator.reset_stats()

    adopted = lab.engine.up()

    assert lab.customer_id(ADA) == existing_id
    assert set(adopted.urns("create")) == {
        lab.customer_urn(ADA),
        lab.node_urn("LAB-GW-0001"),
        lab.node_urn("LAB-POD-0001"),
    }
    assert lab.mutating_calls()[("POST", REGISTER)] == 0
    assert lab.mutating_calls()[("PATCH", CUSTOMER)] == 1  # the email, brought in line
    assert lab.claimed()["LAB-GW-0001"] == existing_id
    assert [c["id"] for c in lab.partner()["customers"] if c["accountId"] == ADA] == [existing_id]


def test_invalid_fleet_config_fails_before_any_api_call(lab: Lab) -> None:
    customers = lab.customers
    customers[0]["email"] = "not-an-email"
    customers[1]["accountId"] = ADA  # declared twice
    customers[2]["nodes"][0]["serialNumber"] = "BAD/SERIAL"
    customers[2]["nodes"].append({"serialNumber": "LAB-GW-0001"})  # also Ada's
    lab.set_customers(customers)

    with pytest.raises(EngineError) as caught:
        lab.engine.up()

    [error] = caught.value.result.errors
    assert error.op == "program"
    assert error.message.startswith("the fleet in stack config (plume-fleet:*) has 4 problem(s)")
    assert "Traceback" not in error.message  # a refused fleet is its message, not a crash
    for problem in (
        "customers[0].email: is not a well-formed email address",
        "customers[1].accountId",
        "customers[2].nodes[0].serialNumber: serial number must not contain '/'",
        "customers[2].nodes[1].serialNumber: serial 'LAB-GW-0001' is already declared",
    ):
        assert problem in error.message
    assert caught.value.result.calls == [("Configure", "")]
    assert lab.emulator.stats()["requests"] == []
    assert lab.engine.checkpoint().resources == []


def test_destroy_leaves_nothing_for_the_partner(lab: Lab) -> None:
    lab.engine.up()

    result = lab.engine.destroy()

    assert result.counts == {"delete": 10}
    for spec in lab.customers:
        customer_step = result.steps.index(("delete", lab.customer_urn(spec["accountId"])))
        for node in spec["nodes"]:
            assert result.steps.index(("delete", lab.node_urn(node["serialNumber"]))) < (
                customer_step
            )
    partner = lab.partner()
    assert partner["customers"] == []
    assert partner["claimed_nodes"] == []
    assert partner["licenses_in_use"] == 0
    checkpoint = lab.engine.checkpoint()
    assert checkpoint.resources == []
    assert checkpoint.outputs == {}


def test_protected_customers_survive_destroy_retained_ones_survive_removal(lab: Lab) -> None:
    lab.engine.stack_config["plume-fleet:protect"] = True
    lab.engine.up()
    claimed = lab.claimed()

    with pytest.raises(EngineError) as caught:
        lab.engine.destroy()
    failed = {error.urn for error in caught.value.result.errors}
    households = {lab.customer_urn(a) for a in (ADA, GRACE, CAFE)}
    households |= {lab.node_urn(serial) for serial in claimed}
    assert failed
    assert failed <= households
    assert all("marked for protection" in e.message for e in caught.value.result.errors)
    # Protect covers the household: the nodes stay claimed, the customers stay.
    assert lab.claimed() == claimed != {}
    assert {r.type for r in lab.engine.checkpoint().resources} == {CUSTOMER_TYPE, NODE_TYPE}
    assert len(lab.partner()["customers"]) == 3

    lab.engine.stack_config["plume-fleet:protect"] = False
    lab.engine.stack_config["plume-fleet:retainOnDelete"] = True
    lab.engine.up()
    lab.emulator.reset_stats()
    lab.set_customers([c for c in lab.customers if c["accountId"] != CAFE])

    removed = lab.engine.up()

    assert removed.urns("retain") == [lab.customer_urn(CAFE)]
    assert removed.urns("delete") == [lab.node_urn("LAB-GW-0003")]
    assert lab.mutating_calls() == {("DELETE", NODE): 1}
    assert CAFE in {c["accountId"] for c in lab.partner()["customers"]}
    assert {r.type for r in lab.engine.checkpoint().resources} == {CUSTOMER_TYPE, NODE_TYPE}
