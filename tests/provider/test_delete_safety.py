"""Deletes that must fail loudly rather than lose track of a live household.

Plume answers 401 both for bad credentials and for a customer that is gone, so the providers
treat a 401 on delete as success only after checking that the customer (or node) really is
not there. These tests pin both halves: a 401 with the household still live fails the delete
and leaves it live (the stack keeps it); a 401 for something that is gone succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pulumi.runtime.rpc import UNKNOWN

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client.errors import AuthenticationError
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.base import PlumeResourceError

from .conftest import configure, customer_props, stack_config

CUSTOMER_ROUTE = "/api/Customers/{customerId}"
NODE_ROUTE = "/api/Customers/{customerId}/locations/{locationId}/nodes/{serialNumber}"
UNKNOWN_ID = "0123456789abcdef01234567"


def live_customer_ids(emulator: EmulatorServer) -> set[str]:
    customers = emulator.state()["partners"]["lab-partner"]["customers"]
    return {c["id"] for c in customers}


def claimed_at(emulator: EmulatorServer) -> dict[str, tuple[str, str]]:
    rows = emulator.state()["partners"]["lab-partner"]["claimed_nodes"]
    return {r["serialNumber"]: (r["customerId"], r["locationId"]) for r in rows}


def answered(emulator: EmulatorServer, method: str, route: str) -> dict[int, int]:
    """Status -> count of the requests to (method, route) so far."""
    counts: dict[int, int] = {}
    for row in emulator.stats()["requests"]:
        if (row["method"], row["route"]) == (method, route):
            counts[int(row["status"])] = counts.get(int(row["status"]), 0) + int(row["count"])
    return counts


def always_401(method: str, route: str) -> list[dict[str, Any]]:
    """A fault rule: every `method` request to `route` is answered 401, nothing done."""
    return [{"method": method, "path": route, "status": 401, "times": None}]


@pytest.fixture
def wrong_secret_config(lab_credentials: LabCredentials) -> dict[str, str]:
    """The lab stack's config with a client secret that the token endpoint refuses."""
    wrong = LabCredentials(
        lab_credentials.token_url,
        lab_credentials.api_url,
        lab_credentials.client_id,
        "not-the-lab-secret",
        lab_credentials.partner_id,
    )
    return stack_config(wrong)


@pytest.fixture
def home(customers: CustomerProvider, account_id: Callable[[], str]) -> dict[str, Any]:
    """A live customer's outputs."""
    return customers.create(customer_props(account_id())).outs or {}


@pytest.fixture
def gateway(nodes: NodeProvider, home: dict[str, Any]) -> dict[str, Any]:
    """A node claimed at `home`'s location: its outputs."""
    props = {
        "customerId": home["customerId"],
        "locationId": home["locationId"],
        "serialNumber": "LAB-GW-0001",
    }
    return nodes.create(props).outs or {}


@pytest.fixture
def misconfigured_customers(wrong_secret_config: dict[str, str]) -> Iterator[CustomerProvider]:
    provider = configure(CustomerProvider(), wrong_secret_config)
    yield provider
    provider.close()


@pytest.fixture
def misconfigured_nodes(wrong_secret_config: dict[str, str]) -> Iterator[NodeProvider]:
    provider = configure(NodeProvider(), wrong_secret_config)
    yield provider
    provider.close()


# -- customers -------------------------------------------------------------------------------


def test_customer_delete_with_a_wrong_client_secret_fails_and_the_customer_stays_live(
    misconfigured_customers: CustomerProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        misconfigured_customers.delete(home["customerId"], home)
    assert "not-the-lab-secret" not in str(caught.value)
    assert home["customerId"] in live_customer_ids(emulator)


def test_customer_delete_with_an_expired_token_fails_and_the_customer_stays_live(
    config: dict[str, str], home: dict[str, Any], emulator: EmulatorServer
) -> None:
    expired = emulator.mint_token(partnerId="lab-partner", expires_in=-60)
    static = {k: v for k, v in config.items() if k != "plume:authHeader"}
    provider = configure(CustomerProvider(), {**static, "plume:token": expired})
    try:
        with pytest.raises(AuthenticationError):
            provider.delete(home["customerId"], home)
    finally:
        provider.close()
    assert home["customerId"] in live_customer_ids(emulator)


def test_customer_delete_answered_401_while_the_customer_is_still_found_fails(
    customers: CustomerProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    """Good credentials, a 401 on the DELETE, and the accountId search still finds it."""
    emulator.set_faults(always_401("DELETE", CUSTOMER_ROUTE))
    with pytest.raises(AuthenticationError):
        customers.delete(home["customerId"], home)
    emulator.clear_faults()
    assert home["customerId"] in live_customer_ids(emulator)


def test_customer_delete_answered_401_for_a_customer_that_is_gone_succeeds(
    customers: CustomerProvider,
    home: dict[str, Any],
    emulator: EmulatorServer,
    account_id: Callable[[], str],
) -> None:
    """Plume's 401 for a customer that no longer exists: the search confirms it, success."""
    emulator.set_faults(always_401("DELETE", CUSTOMER_ROUTE))
    customers.delete(UNKNOWN_ID, {"customerId": UNKNOWN_ID, "accountId": account_id()})
    assert answered(emulator, "DELETE", CUSTOMER_ROUTE) == {401: 2}  # sent, refreshed, resent
    assert home["customerId"] in live_customer_ids(emulator)


@pytest.mark.parametrize(
    "account",
    [
        pytest.param({}, id="missing"),
        pytest.param({"accountId": ""}, id="empty"),
        pytest.param({"accountId": 42}, id="not-a-string"),
        pytest.param({"accountId": UNKNOWN}, id="unknown-placeholder"),
    ],
)
def test_customer_delete_answered_401_without_an_account_id_to_check_fails(
    customers: CustomerProvider, emulator: EmulatorServer, account: dict[str, Any]
) -> None:
    """Nothing to confirm the customer is gone with: the 401 stands."""
    emulator.set_faults(always_401("DELETE", CUSTOMER_ROUTE))
    with pytest.raises(AuthenticationError) as caught:
        customers.delete(UNKNOWN_ID, {"customerId": UNKNOWN_ID, **account})
    assert caught.value.operation == "delete_customer"


def test_customer_delete_of_an_id_that_never_existed_succeeds_and_touches_nothing_else(
    customers: CustomerProvider,
    home: dict[str, Any],
    gateway: dict[str, Any],
    emulator: EmulatorServer,
    account_id: Callable[[], str],
) -> None:
    emulator.reset_stats()
    customers.delete(UNKNOWN_ID, {"customerId": UNKNOWN_ID, "accountId": account_id()})
    assert answered(emulator, "DELETE", CUSTOMER_ROUTE) == {404: 1}
    assert live_customer_ids(emulator) == {home["customerId"]}
    assert claimed_at(emulator) == {"LAB-GW-0001": (home["customerId"], home["locationId"])}


# -- nodes -----------------------------------------------------------------------------------


def test_node_delete_with_a_wrong_client_secret_fails_and_the_node_stays_claimed(
    misconfigured_nodes: NodeProvider,
    home: dict[str, Any],
    gateway: dict[str, Any],
    emulator: EmulatorServer,
) -> None:
    with pytest.raises(AuthenticationError):
        misconfigured_nodes.delete("LAB-GW-0001", gateway)
    assert claimed_at(emulator) == {"LAB-GW-0001": (home["customerId"], home["locationId"])}


def test_node_delete_answered_401_while_the_node_is_still_claimed_there_fails(
    nodes: NodeProvider, home: dict[str, Any], gateway: dict[str, Any], emulator: EmulatorServer
) -> None:
    emulator.set_faults(always_401("DELETE", NODE_ROUTE))
    with pytest.raises(AuthenticationError):
        nodes.delete("LAB-GW-0001", gateway)
    emulator.clear_faults()
    assert claimed_at(emulator) == {"LAB-GW-0001": (home["customerId"], home["locationId"])}


def test_node_delete_answered_401_for_a_node_no_longer_there_succeeds(
    nodes: NodeProvider,
    customers: CustomerProvider,
    account_id: Callable[[], str],
    home: dict[str, Any],
    emulator: EmulatorServer,
) -> None:
    """The node was moved to another customer out of band; its old location answers 401."""
    other = customers.create(customer_props(account_id())).outs or {}
    moved = {
        "customerId": other["customerId"],
        "locationId": other["locationId"],
        "serialNumber": "LAB-GW-0002",
    }
    nodes.create(moved)
    stale = {**moved, "customerId": home["customerId"], "locationId": home["locationId"]}
    emulator.set_faults(always_401("DELETE", NODE_ROUTE))
    nodes.delete("LAB-GW-0002", stale)
    emulator.clear_faults()
    assert claimed_at(emulator) == {"LAB-GW-0002": (other["customerId"], other["locationId"])}


def test_node_delete_answered_401_for_a_node_at_another_location_of_the_customer_succeeds(
    nodes: NodeProvider, home: dict[str, Any], gateway: dict[str, Any], emulator: EmulatorServer
) -> None:
    """Plume replaced the customer's location (the old one archived); the node was claimed at
    the new one. Unclaiming at the old location answers 401: the node is not there, success."""
    token = emulator.mint_token(partnerId="lab-partner")
    with httpx.Client(
        base_url=emulator.api_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        old = f"/Customers/{home['customerId']}/locations/{home['locationId']}"
        assert api.delete(old).status_code == 204
        [location] = api.get(f"/Customers/{home['customerId']}/locations").json()
        claim = api.post(
            f"/Customers/{home['customerId']}/locations/{location['id']}/nodes",
            json={"serialNumber": "LAB-GW-0001"},
        )
        assert claim.status_code == 200, claim.text
    emulator.set_faults(always_401("DELETE", NODE_ROUTE))
    nodes.delete("LAB-GW-0001", gateway)
    emulator.clear_faults()
    assert claimed_at(emulator) == {"LAB-GW-0001": (home["customerId"], location["id"])}


def test_node_delete_of_saved_props_without_serial_unclaims_by_its_id(
    nodes: NodeProvider, home: dict[str, Any], gateway: dict[str, Any], emulator: EmulatorServer
) -> None:
    """A node's Pulumi id is its serial number: enough to unclaim it with."""
    props = {k: v for k, v in gateway.items() if k != "serialNumber"}
    nodes.delete("LAB-GW-0001", props)
    assert claimed_at(emulator) == {}


@pytest.mark.parametrize("missing", ["customerId", "locationId"])
def test_node_delete_without_its_location_in_the_state_fails_and_unclaims_nothing(
    nodes: NodeProvider,
    home: dict[str, Any],
    gateway: dict[str, Any],
    emulator: EmulatorServer,
    missing: str,
) -> None:
    props = {k: v for k, v in gateway.items() if k != missing}
    with pytest.raises(PlumeResourceError) as caught:
        nodes.delete("LAB-GW-0001", props)
    assert str(caught.value).startswith(
        "a PlumeNode needs customerId, locationId and serialNumber; got "
    )
    assert f"{missing}=None" in str(caught.value)
    assert claimed_at(emulator) == {"LAB-GW-0001": (home["customerId"], home["locationId"])}
