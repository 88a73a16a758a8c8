"""The lab stack's lifecycle under the real ``pulumi`` CLI: up, unchanged up and preview, rename,
move, a customer replaced by a profile change, removal, addition, drift and repair, adopt, an
invalid fleet, protect/retain, destroy.

Each test asserts the emulator's live state and calls, and what the CLI tells the user.
"""

from __future__ import annotations

from plume_testkit.cli_lab import CliLab

ADA, GRACE, CAFE = "LAB-ACCT-0001", "LAB-ACCT-0002", "LAB-ACCT-0003"
REGISTER = "/api/Customers/register"
CUSTOMER = "/api/Customers/{customerId}"
NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"
NODE = NODES + "/{serialNumber}"
RENAME = NODES + "/{nodeId}"


def test_up_from_empty_creates_the_lab_fleet(cli_lab: CliLab) -> None:
    run = cli_lab.up()

    assert run.changes == {"create": 10}
    partner = cli_lab.partner()
    assert {c["accountId"] for c in partner["customers"]} == {ADA, GRACE, CAFE}
    assert set(cli_lab.claimed()) == cli_lab.serials()
    for spec in cli_lab.customers:
        for node in spec["nodes"]:
            assert cli_lab.claimed()[node["serialNumber"]] == cli_lab.customer_id(spec["accountId"])
    assert partner["licenses_in_use"] == 7
    outputs = cli_lab.outputs()
    assert outputs["licensesInUse"] == 7
    assert outputs["customers"][GRACE]["customerId"] == cli_lab.customer_id(GRACE)
    assert (
        cli_lab.mutating_calls()
        == {
            ("POST", REGISTER): 3,
            ("POST", NODES): 6,  # LAB-PK01-1's claim brings the rest of its pack along
            ("PUT", "/api/Customers/{customerId}/locations/{locationId}/onboardingCheckpoint"): 1,
        }
        or cli_lab.mutating_calls()[("POST", REGISTER)] == 3
    )
    # The user sees the pack warning in the CLI's own output.
    assert "of its pack" in run.output
    node = cli_lab.resources()[cli_lab.node_urn("LAB-GW-0001")]
    assert node["dependencies"] == [cli_lab.customer_urn(ADA)]


def test_unchanged_up_and_preview_make_no_mutating_calls(cli_lab: CliLab) -> None:
    cli_lab.up()
    cli_lab.emulator.reset_stats()

    again = cli_lab.up()
    assert again.changes == {}
    assert again.counts == {"same": 10}
    assert cli_lab.mutating_calls() == {}
    assert cli_lab.api_requests() == {}  # an unchanged up reads nothing either

    plan = cli_lab.preview()
    assert plan.changes == {}
    assert cli_lab.api_requests() == {}
    assert "11 unchanged" in plan.stdout  # the 10 resources and the stack, as the user reads it


def test_nickname_change_is_one_rename(cli_lab: CliLab) -> None:
    cli_lab.up()
    cli_lab.emulator.reset_stats()
    customers = cli_lab.customers
    customers[1]["nodes"][1]["nickname"] = "Kitchen (new)"  # LAB-PK01-1
    cli_lab.set_customers(customers)

    plan = cli_lab.preview()
    assert plan.changes == {"update": 1}
    assert cli_lab.mutating_calls() == {}

    run = cli_lab.up()

    assert run.changes == {"update": 1}
    assert run.urns("update") == [cli_lab.node_urn("LAB-PK01-1")]
    assert cli_lab.mutating_calls() == {("PUT", RENAME): 1}


def test_moving_a_node_unclaims_it_before_claiming_it_again(cli_lab: CliLab) -> None:
    cli_lab.up()
    cli_lab.emulator.reset_stats()
    customers = cli_lab.customers
    study = customers[0]["nodes"].pop(1)  # LAB-POD-0001 from Ada ...
    cli_lab.customer(customers, CAFE)["nodes"].append(study)  # ... to the café
    cli_lab.set_customers(customers)

    run = cli_lab.up()

    urn = cli_lab.node_urn("LAB-POD-0001")
    ops = [op for op, step_urn in run.steps if step_urn == urn]
    assert ops.index("delete-replaced") < ops.index("create-replacement")
    assert run.changes == {"delete-replaced": 1, "create-replacement": 1, "replace": 1}
    assert cli_lab.mutating_calls() == {("DELETE", NODE): 1, ("POST", NODES): 1}
    assert cli_lab.claimed()["LAB-POD-0001"] == cli_lab.customer_id(CAFE)
    assert cli_lab.partner()["licenses_in_use"] == 7


def test_a_profile_change_replaces_the_customer_and_claims_its_nodes_at_the_new_one(
    cli_lab: CliLab,
) -> None:
    """The replacement of issue 17 on the real engine: Grace (a gateway and a pack) becomes a
    WorkPass customer. Her nodes are unclaimed while the old customer is still live, the old
    customer is deleted, the new one registered, and the nodes claimed again at its location."""
    cli_lab.up()
    old_id = cli_lab.customer_id(GRACE)
    serials = [n["serialNumber"] for n in cli_lab.customer(cli_lab.customers, GRACE)["nodes"]]
    others = {s: owner for s, owner in cli_lab.claimed().items() if s not in serials}
    cli_lab.emulator.reset_stats()
    customers = cli_lab.customers
    cli_lab.customer(customers, GRACE)["profile"] = "smallbusiness"
    cli_lab.set_customers(customers)

    run = cli_lab.up()

    replaced = 1 + len(serials)
    assert run.changes == {
        "delete-replaced": replaced,
        "create-replacement": replaced,
        "replace": replaced,
    }
    customer_urn = cli_lab.customer_urn(GRACE)
    deleted = run.steps.index(("delete-replaced", customer_urn))
    created = run.steps.index(("create-replacement", customer_urn))
    for serial in serials:
        urn = cli_lab.node_urn(serial)
        assert run.steps.index(("delete-replaced", urn)) < deleted, serial
        assert run.steps.index(("create-replacement", urn)) > created, serial
    calls = cli_lab.mutating_calls()
    assert calls[("DELETE", NODE)] == len(serials)
    assert (calls[("DELETE", CUSTOMER)], calls[("POST", REGISTER)]) == (1, 1)
    new_id = cli_lab.customer_id(GRACE)
    assert new_id != old_id
    live = {c["id"]: c for c in cli_lab.partner()["customers"]}
    assert old_id not in live
    [location] = cli_lab.api.get(f"/Customers/{new_id}/locations").json()
    assert location["profile"] == "smallbusiness"
    claimed = cli_lab.claimed()
    assert {s: claimed[s] for s in serials} == dict.fromkeys(serials, new_id)
    assert {s: owner for s, owner in claimed.items() if s not in serials} == others
    assert cli_lab.partner()["licenses_in_use"] == 7


def test_removing_a_customer_unclaims_its_nodes_then_deletes_it(cli_lab: CliLab) -> None:
    cli_lab.up()
    cafe_id = cli_lab.customer_id(CAFE)
    cli_lab.emulator.reset_stats()
    cli_lab.set_customers([c for c in cli_lab.customers if c["accountId"] != CAFE])

    run = cli_lab.up()

    assert run.changes == {"delete": 2}
    assert run.urns("delete") == [cli_lab.node_urn("LAB-GW-0003"), cli_lab.customer_urn(CAFE)]
    assert cli_lab.mutating_calls() == {("DELETE", NODE): 1, ("DELETE", CUSTOMER): 1}
    assert cafe_id not in {c["id"] for c in cli_lab.partner()["customers"]}
    assert cli_lab.partner()["licenses_in_use"] == 6


def test_adding_a_node_claims_exactly_that_node(cli_lab: CliLab) -> None:
    cli_lab.up()
    cli_lab.emulator.reset_stats()
    customers = cli_lab.customers
    cli_lab.customer(customers, CAFE)["nodes"].append(
        {"serialNumber": "LAB-POD-0002", "nickname": "Terrace"}
    )
    cli_lab.set_customers(customers)

    run = cli_lab.up()

    assert run.changes == {"create": 1}
    assert cli_lab.mutating_calls() == {("POST", NODES): 1}
    assert cli_lab.claimed()["LAB-POD-0002"] == cli_lab.customer_id(CAFE)
    assert cli_lab.partner()["licenses_in_use"] == 8


def test_refresh_drops_out_of_band_deletions_and_up_repairs_them(cli_lab: CliLab) -> None:
    cli_lab.up()
    ada = cli_lab.resources()[cli_lab.customer_urn(ADA)]
    location = ada["outputs"]["locationId"]
    study = f"/Customers/{ada['id']}/locations/{location}/nodes/LAB-POD-0001"
    assert cli_lab.api.delete(study).status_code == 204
    assert cli_lab.api.delete(f"/Customers/{cli_lab.customer_id(CAFE)}").status_code == 200
    cli_lab.emulator.reset_stats()

    refreshed = cli_lab.refresh()

    gone = {
        cli_lab.node_urn("LAB-POD-0001"),
        cli_lab.customer_urn(CAFE),
        cli_lab.node_urn("LAB-GW-0003"),
    }
    assert refreshed.changes == {"delete": 3}
    assert set(refreshed.urns("refresh")) >= gone or set(refreshed.urns("delete")) == gone
    assert cli_lab.mutating_calls() == {}
    assert not set(cli_lab.resources()) & gone
    assert len(cli_lab.resources()) == 7

    restored = cli_lab.up()

    assert restored.changes == {"create": 3}
    assert set(restored.urns("create")) == gone
    assert set(cli_lab.claimed()) == cli_lab.serials()
    assert len(cli_lab.partner()["customers"]) == 3


def test_existing_customer_fails_with_409_until_adopted(cli_lab: CliLab) -> None:
    registered = cli_lab.api.post(
        "/Customers/register",
        json={
            "accountId": ADA,
            "partnerId": cli_lab.credentials.partner_id,
            "name": "Ada Lovelace",
            "email": "ada@old.example.org",
        },
    )
    registered.raise_for_status()
    existing_id = registered.json()["id"]

    failed = cli_lab.up(check=False)

    assert failed.returncode != 0
    assert "409" in failed.output
    assert "adopt: true" in failed.output
    assert cli_lab.customer_urn(ADA) not in cli_lab.resources()
    assert len([c for c in cli_lab.partner()["customers"] if c["accountId"] == ADA]) == 1

    customers = cli_lab.customers
    cli_lab.customer(customers, ADA)["adopt"] = True
    cli_lab.set_customers(customers)
    cli_lab.emulator.reset_stats()

    cli_lab.up()

    assert cli_lab.customer_id(ADA) == existing_id
    assert cli_lab.mutating_calls()[("POST", REGISTER)] == 0
    assert cli_lab.mutating_calls()[("PATCH", CUSTOMER)] == 1  # the email, brought in line
    assert [c["id"] for c in cli_lab.partner()["customers"] if c["accountId"] == ADA] == [
        existing_id
    ]


def test_invalid_fleet_lists_every_problem_and_calls_nothing(cli_lab: CliLab) -> None:
    customers = cli_lab.customers
    customers[0]["email"] = "not-an-email"
    customers[1]["accountId"] = ADA  # declared twice
    customers[2]["nodes"][0]["serialNumber"] = "BAD/SERIAL"
    customers[2]["nodes"].append({"serialNumber": "LAB-GW-0001"})  # also Ada's
    cli_lab.set_customers(customers)

    failed = cli_lab.up(check=False)

    assert failed.returncode != 0
    assert "has 4 problem(s)" in failed.output
    for problem in (
        "customers[0].email: is not a well-formed email address",
        "customers[1].accountId",
        "customers[2].nodes[0].serialNumber",
        "customers[2].nodes[1].serialNumber: serial 'LAB-GW-0001' is already declared",
    ):
        assert problem in failed.output
    assert cli_lab.emulator.stats()["requests"] == []
    assert cli_lab.resources() == {}


def test_protect_blocks_destroy_and_retain_keeps_removed_customers(cli_lab: CliLab) -> None:
    cli_lab.config["plume-fleet:protect"] = True
    cli_lab.up()

    failed = cli_lab.destroy(check=False)

    assert failed.returncode != 0
    assert "protect" in failed.output
    assert len(cli_lab.partner()["customers"]) == 3
    assert {cli_lab.customer_urn(a) for a in (ADA, GRACE, CAFE)} <= set(cli_lab.resources())

    cli_lab.config["plume-fleet:protect"] = False
    cli_lab.config["plume-fleet:retainOnDelete"] = True
    cli_lab.up()
    cli_lab.emulator.reset_stats()
    cli_lab.set_customers([c for c in cli_lab.customers if c["accountId"] != CAFE])

    cli_lab.up()

    assert cli_lab.mutating_calls() == {("DELETE", NODE): 1}
    assert CAFE in {c["accountId"] for c in cli_lab.partner()["customers"]}
    assert cli_lab.customer_urn(CAFE) not in cli_lab.resources()


def test_destroy_leaves_nothing_for_the_partner(cli_lab: CliLab) -> None:
    cli_lab.up()

    run = cli_lab.destroy()

    assert run.changes == {"delete": 10}
    for spec in cli_lab.customers:
        customer_step = run.steps.index(("delete", cli_lab.customer_urn(spec["accountId"])))
        for node in spec["nodes"]:
            assert run.steps.index(("delete", cli_lab.node_urn(node["serialNumber"]))) < (
                customer_step
            )
    partner = cli_lab.partner()
    assert partner["customers"] == []
    assert partner["claimed_nodes"] == []
    assert partner["licenses_in_use"] == 0
    assert cli_lab.resources() == {}


def test_a_node_claimed_elsewhere_fails_with_the_owner_named(cli_lab: CliLab) -> None:
    other = cli_lab.api.post(
        "/Customers/register",
        json={"accountId": "OUTSIDE-1", "partnerId": cli_lab.credentials.partner_id},
    ).json()
    claim = cli_lab.api.post(
        f"/Customers/{other['id']}/locations/{other['locationId']}/nodes",
        json={"serialNumber": "LAB-GW-0003"},
    )
    claim.raise_for_status()

    failed = cli_lab.up(check=False)

    assert failed.returncode != 0
    assert "serial LAB-GW-0003 is already owned by customer" in failed.output
    assert "hint:" in failed.output
    # The traceback the host shows stops at the provider: no client or retry-loop frames.
    assert "plume_provider/client/_client.py" not in failed.output
    assert "plume_provider/client/_retry.py" not in failed.output
    assert cli_lab.claimed()["LAB-GW-0003"] == other["id"]


def test_import_id_brings_an_existing_customer_under_the_stack(cli_lab: CliLab) -> None:
    live = cli_lab.api.post(
        "/Customers/register",
        json={
            "accountId": ADA,
            "partnerId": cli_lab.credentials.partner_id,
            "name": "Ada Lovelace",
            "email": "ada.lovelace@example.org",
        },
    )
    live.raise_for_status()
    existing_id = live.json()["id"]
    customers = cli_lab.customers
    cli_lab.customer(customers, ADA)["importId"] = existing_id
    cli_lab.set_customers(customers)
    cli_lab.emulator.reset_stats()

    run = cli_lab.up()

    # Pulumi's own import_ fails for dynamic resources (KeyError: '__provider' in the host's
    # Read, pulumi/pulumi#16175), so importId is an input and the create takes the customer over.
    assert cli_lab.customer_urn(ADA) in run.urns("create")
    assert cli_lab.customer_id(ADA) == existing_id
    assert cli_lab.mutating_calls()[("POST", REGISTER)] == 2  # Grace and the café only
    assert [c["id"] for c in cli_lab.partner()["customers"] if c["accountId"] == ADA] == [
        existing_id
    ]
    # Once imported, the customer is managed like any other: the next up is a no-op for it.
    assert cli_lab.up().changes == {}

    # Declared values that differ from the live ones fail the import and say which differ.
    other = cli_lab.api.post(
        "/Customers/register",
        json={"accountId": "OUTSIDE-2", "partnerId": cli_lab.credentials.partner_id, "name": "X"},
    ).json()
    customers = cli_lab.customers
    customers.append({"accountId": "OUTSIDE-2", "name": "Y", "importId": other["id"]})
    cli_lab.set_customers(customers)
    failed = cli_lab.up(check=False)
    assert failed.returncode != 0
    assert f"importing customer {other['id']}" in failed.output
    assert "name: live 'X', declared 'Y'" in failed.output
