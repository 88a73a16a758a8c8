"""API calls per operation kind under the real ``pulumi`` CLI, counted by the emulator.

Calls are what a Plume rollout pays for (the firewall allows 2,000 per five minutes), so each
operation kind has a budget: one call per create, update and delete; at most one per resource
on a refresh (the nodes of one location are read from one listing); none for an unchanged up
or a preview; one token per provider host process. The drift a refresh must still see (a
deleted customer, an archived location, a node moved or unclaimed, out-of-band renames) is
asserted on the same shared reads.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from plume_testkit.cli_lab import CliLab

REGISTER = ("POST", "/api/Customers/register")
CUSTOMER = "/api/Customers/{customerId}"
LOCATIONS = CUSTOMER + "/locations"
LOCATION = LOCATIONS + "/{locationId}"
NODES = LOCATION + "/nodes"
CHECKPOINT = ("POST", LOCATION + "/onboardingCheckpoint")
LOOKUP = ("GET", "/api/Partners/nodes/{serialNumber}")


def fleet(customers: int, *, first: int = 101) -> list[dict[str, Any]]:
    """`customers` customers with a gateway and an extender each (no packs), every second one
    with an onboarding checkpoint, so that a register carries it."""
    result = []
    for i in range(first, first + customers):
        spec: dict[str, Any] = {
            "accountId": f"CALLS-{i:04d}",
            "name": f"Customer {i}",
            "email": f"calls-{i}@example.org",
            "nodes": [
                {"serialNumber": f"LAB-GW-{i:04d}", "nickname": f"Gateway {i}"},
                {"serialNumber": f"LAB-POD-{i:04d}", "nickname": f"Pod {i}"},
            ],
        }
        if i % 2:
            spec["onboardingCheckpoint"] = "PodsAdded"
        result.append(spec)
    return result


def api_calls(lab: CliLab) -> Counter[tuple[str, str]]:
    return lab.api_requests()


def tokens(lab: CliLab) -> int:
    return int(lab.emulator.stats()["tokens_issued"])


def with_fleet(lab: CliLab, customers: int) -> int:
    """Declare the fleet, `up` it, zero the counters; returns the number of resources."""
    lab.set_customers(fleet(customers))
    lab.up()
    lab.emulator.reset_stats()
    return customers * 3


def test_up_from_empty_is_one_call_per_create_and_one_token(cli_lab: CliLab) -> None:
    cli_lab.set_customers(fleet(10))

    run = cli_lab.up()

    assert run.changes == {"create": 30}
    calls = api_calls(cli_lab)
    # The checkpoint travels in the register body: no checkpoint call, no location listing.
    assert calls == {REGISTER: 10, ("POST", NODES): 20}
    assert sum(calls.values()) == 30
    assert tokens(cli_lab) == 1
    partner = cli_lab.partner()
    assert len(partner["customers"]) == 10
    assert partner["licenses_in_use"] == 20


def test_unchanged_up_and_preview_call_nothing(cli_lab: CliLab) -> None:
    with_fleet(cli_lab, 5)

    assert cli_lab.up().changes == {}
    assert cli_lab.preview().changes == {}

    assert api_calls(cli_lab) == {}
    assert tokens(cli_lab) == 0


def test_refresh_is_at_most_one_call_per_resource(cli_lab: CliLab) -> None:
    resources = with_fleet(cli_lab, 10)

    run = cli_lab.refresh()

    assert run.changes == {}
    calls = api_calls(cli_lab)
    # Per customer: the customer and its locations; its two nodes share one listing.
    assert calls == {("GET", CUSTOMER): 10, ("GET", LOCATIONS): 10, ("GET", NODES): 10}
    assert sum(calls.values()) / resources <= 1.0
    assert LOOKUP not in calls
    assert tokens(cli_lab) == 1


def test_each_update_kind_is_one_call(cli_lab: CliLab) -> None:
    with_fleet(cli_lab, 3)
    customers = cli_lab.customers
    customers[0]["name"] = "Renamed In Code"
    customers[1]["onboardingCheckpoint"] = "OnboardingComplete"
    customers[2]["nodes"][0]["nickname"] = "Gateway renamed"
    cli_lab.set_customers(customers)

    run = cli_lab.up()

    assert run.changes == {"update": 3}
    assert api_calls(cli_lab) == {
        ("PATCH", CUSTOMER): 1,
        CHECKPOINT: 1,
        ("PUT", NODES + "/{nodeId}"): 1,
    }
    assert tokens(cli_lab) == 1


def test_destroy_is_one_call_per_delete(cli_lab: CliLab) -> None:
    resources = with_fleet(cli_lab, 10)

    run = cli_lab.destroy()

    assert run.changes == {"delete": resources}
    assert api_calls(cli_lab) == {
        ("DELETE", CUSTOMER): 10,
        ("DELETE", NODES + "/{serialNumber}"): 20,
    }
    assert tokens(cli_lab) == 1
    assert cli_lab.partner()["licenses_in_use"] == 0


def test_pack_siblings_cost_one_call_each_on_the_lab_stack(cli_lab: CliLab) -> None:
    """The lab stack declares a pack: the first extender's claim claims all three; the other
    two, created in parallel by the engine, wait for that claim and are then only renamed to
    their declared nicknames (one call each), not claimed and confirmed again."""
    run = cli_lab.up()

    assert run.changes == {"create": 10}
    calls = api_calls(cli_lab)
    assert calls == {
        REGISTER: 3,
        ("POST", NODES): 5,  # LAB-PK01-1's claim brings the rest of its pack along
        ("PUT", NODES + "/{nodeId}"): 2,
    }
    nicknames = {
        urn.rsplit("node-", 1)[1]: saved["outputs"]["nickname"]
        for urn, saved in cli_lab.resources().items()
        if "node-LAB-PK01" in urn
    }
    assert nicknames == {"LAB-PK01-1": "Kitchen", "LAB-PK01-2": "Bedroom", "LAB-PK01-3": "Garage"}


# -- drift a refresh of shared reads still sees ------------------------------------------------


def saved(lab: CliLab, account_id: str) -> dict[str, Any]:
    outputs: dict[str, Any] = lab.resources()[lab.customer_urn(account_id)]["outputs"]
    return outputs


def test_refresh_drops_a_deleted_customer_and_its_nodes(cli_lab: CliLab) -> None:
    with_fleet(cli_lab, 3)
    gone = saved(cli_lab, "CALLS-0102")
    assert cli_lab.api.delete(f"/Customers/{gone['customerId']}").status_code == 200

    run = cli_lab.refresh()

    assert run.changes == {"delete": 3}
    left = set(cli_lab.resources())
    assert cli_lab.customer_urn("CALLS-0102") not in left
    assert cli_lab.node_urn("LAB-GW-0102") not in left
    assert cli_lab.node_urn("LAB-POD-0102") not in left
    assert len(left) == 6


def test_refresh_sees_an_archived_location(cli_lab: CliLab) -> None:
    with_fleet(cli_lab, 3)
    before = saved(cli_lab, "CALLS-0101")
    path = f"/Customers/{before['customerId']}/locations/{before['locationId']}"
    assert cli_lab.api.delete(path).status_code == 204  # archives it, unclaims its nodes

    run = cli_lab.refresh()

    after = saved(cli_lab, "CALLS-0101")
    assert after["locationId"] != before["locationId"]  # Plume made a new empty location
    left = set(cli_lab.resources())
    assert cli_lab.node_urn("LAB-GW-0101") not in left
    assert cli_lab.node_urn("LAB-POD-0101") not in left
    assert run.changes.get("delete") == 2
    assert cli_lab.customer_urn("CALLS-0101") in left


def test_refresh_drops_a_node_moved_to_another_customer_keeping_its_sibling(
    cli_lab: CliLab,
) -> None:
    with_fleet(cli_lab, 3)
    home = saved(cli_lab, "CALLS-0103")
    other = saved(cli_lab, "CALLS-0101")
    nodes = f"/Customers/{home['customerId']}/locations/{home['locationId']}/nodes"
    assert cli_lab.api.delete(f"{nodes}/LAB-POD-0103").status_code == 204
    moved = cli_lab.api.post(
        f"/Customers/{other['customerId']}/locations/{other['locationId']}/nodes",
        json={"serialNumber": "LAB-POD-0103"},
    )
    assert moved.status_code == 200

    run = cli_lab.refresh()

    assert run.changes == {"delete": 1}
    left = set(cli_lab.resources())
    assert cli_lab.node_urn("LAB-POD-0103") not in left
    assert cli_lab.node_urn("LAB-GW-0103") in left  # read from the same listing, still there


def test_refresh_sees_out_of_band_renames_of_customers_and_nodes(cli_lab: CliLab) -> None:
    with_fleet(cli_lab, 3)
    home = saved(cli_lab, "CALLS-0102")
    assert (
        cli_lab.api.patch(
            f"/Customers/{home['customerId']}", json={"name": "Renamed Out Of Band"}
        ).status_code
        == 200
    )
    renamed = cli_lab.api.put(
        f"/Customers/{home['customerId']}/locations/{home['locationId']}/nodes/LAB-GW-0102",
        json={"nickname": "Renamed in the app"},
    )
    assert renamed.status_code == 200

    run = cli_lab.refresh()

    assert run.changes == {"update": 2}
    assert saved(cli_lab, "CALLS-0102")["name"] == "Renamed Out Of Band"
    node = cli_lab.resources()[cli_lab.node_urn("LAB-GW-0102")]["outputs"]
    assert node["nickname"] == "Renamed in the app"
    assert cli_lab.node_urn("LAB-POD-0102") in cli_lab.resources()

    repaired = cli_lab.up()  # the code's values win again: one PATCH, one rename

    assert repaired.changes == {"update": 2}
    assert saved(cli_lab, "CALLS-0102")["name"] == "Customer 102"
