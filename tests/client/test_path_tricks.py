"""Ids that would change the route of a request never reach the wire (issue 11, items 1 and 3).

Against the emulator over real HTTP: its stats show which routes were called, its state shows
that the location and its nodes are still there. accountIds with characters a path would mangle
are either refused before any call (with the reason) or percent-encoded and found by search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import PlumeClient
from plume_provider.client import errors as e
from plume_provider.client._auth import clear_token_cache
from plume_provider.client._ratelimit import clear_buckets
from plume_provider.client.models import CustomerRegistration
from plume_provider.client.settings import PlumeSettings
from plume_provider.resources.customer import CustomerProvider
from tests.provider.conftest import configure, stack_config

from .conftest import Sleeps

LOCATION_ROUTE = "/api/Customers/{customerId}/locations/{locationId}"
UNCLAIM_ROUTE = LOCATION_ROUTE + "/nodes/{serialNumber}"

DOT_TRICKS = [
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("../LAB-GW-0001", id="dotdot-then-serial"),
    pytest.param("LAB-GW-0001/..", id="serial-then-dotdot"),
    pytest.param("./", id="dot-slash"),
    pytest.param("%2E%2E", id="percent-encoded-dotdot"),
    pytest.param("%2e", id="percent-encoded-dot-lowercase"),
    pytest.param(".%2E", id="half-encoded-dotdot"),
    pytest.param("LAB-GW-0001?x=1", id="query"),
    pytest.param("LAB-GW-0001#frag", id="fragment"),
    pytest.param("LAB-GW-0001\\..", id="backslash-dotdot"),
    pytest.param("LAB GW", id="space"),
]


TRICKS = [str(p.values[0]) for p in DOT_TRICKS]


@pytest.fixture
def client(lab_credentials: LabCredentials) -> Iterator[PlumeClient]:
    clear_token_cache()
    clear_buckets()
    settings = PlumeSettings(
        api_url=lab_credentials.api_url,
        token_url=lab_credentials.token_url,
        auth_header=lab_credentials.auth_header,
        partner_id=lab_credentials.partner_id,
        requests_per_second=0,
        timeout_seconds=5,
    )
    with PlumeClient(settings, sleep=Sleeps()) as c:
        yield c


@pytest.fixture
def home(client: PlumeClient, emulator: EmulatorServer) -> tuple[str, str]:
    """A customer whose location holds two claimed nodes; stats zeroed afterwards."""
    customer = client.register_customer(
        CustomerRegistration(account_id="TRICK-1", partner_id="lab-partner")
    )
    assert customer.location_id is not None
    for serial in ("LAB-GW-0001", "LAB-POD-0001"):
        client.claim_node(customer.id, customer.location_id, serial)
    emulator.reset_stats()
    return customer.id, customer.location_id


def _routes(server: EmulatorServer) -> set[tuple[str, str]]:
    return {(r["method"], r["route"]) for r in server.stats()["requests"]}


def _nodes_at(server: EmulatorServer, location_id: str) -> list[str]:
    for customer in server.state()["partners"]["lab-partner"]["customers"]:
        for location in customer["locations"]:
            if location["id"] == location_id:
                nodes: list[str] = location["nodes"]
                return nodes
    raise AssertionError(f"location {location_id} is gone")


@pytest.mark.parametrize("serial", DOT_TRICKS)
def test_unclaim_with_a_path_trick_serial_sends_nothing_and_the_location_keeps_its_nodes(
    client: PlumeClient, emulator: EmulatorServer, home: tuple[str, str], serial: str
) -> None:
    customer_id, location_id = home
    with pytest.raises(e.InputValidationError, match="serial number") as info:
        client.unclaim_node(customer_id, location_id, serial)
    assert info.value.errors[0][0] == "serialNumber"
    assert _routes(emulator) == set()
    assert _nodes_at(emulator, location_id) == ["LAB-GW-0001", "LAB-POD-0001"]


def test_claim_lookup_and_rename_with_a_path_trick_serial_send_nothing(
    client: PlumeClient, emulator: EmulatorServer, home: tuple[str, str]
) -> None:
    customer_id, location_id = home
    for serial in TRICKS:
        calls: list[tuple[Callable[..., object], tuple[str, ...]]] = [
            (client.claim_node, (customer_id, location_id, serial)),
            (client.lookup_node, (serial,)),
            (client.rename_node, (customer_id, location_id, serial, "x")),
        ]
        for method, args in calls:
            with pytest.raises(e.InputValidationError):
                method(*args)
    assert _routes(emulator) == set()


@pytest.mark.parametrize("which", ["customer", "location"])
def test_a_path_trick_customer_or_location_id_never_reaches_another_route(
    client: PlumeClient, emulator: EmulatorServer, home: tuple[str, str], which: str
) -> None:
    for bad_id in TRICKS:
        ids = (bad_id, home[1]) if which == "customer" else (home[0], bad_id)
        calls: list[tuple[Callable[..., object], tuple[str, ...]]] = [
            (client.unclaim_node, (*ids, "LAB-GW-0001")),
            (client.list_nodes, ids),
            (client.set_onboarding_checkpoint, (*ids, "PodsAdded")),
        ]
        for method, args in calls:
            with pytest.raises(e.InputValidationError, match=f"{which}Id"):
                method(*args)
    assert _routes(emulator) == set()
    assert _nodes_at(emulator, home[1]) == ["LAB-GW-0001", "LAB-POD-0001"]


def test_a_plain_serial_still_reaches_only_the_node_route(
    client: PlumeClient, emulator: EmulatorServer, home: tuple[str, str]
) -> None:
    customer_id, location_id = home
    assert client.unclaim_node(customer_id, location_id, "LAB-POD-0001") is True
    assert _routes(emulator) <= {("DELETE", UNCLAIM_ROUTE), ("POST", "/oauth2/token")}
    assert ("DELETE", UNCLAIM_ROUTE) in _routes(emulator)
    assert _nodes_at(emulator, location_id) == ["LAB-GW-0001"]


# -- accountIds in the search path -------------------------------------------------------------

REFUSED_ACCOUNT_IDS = [
    pytest.param("ACCT/1", "'/'", id="slash"),
    pytest.param("ACCT\\1", "'\\\\'", id="backslash"),
    pytest.param(".", "'.'", id="dot"),
    pytest.param("..", "'..'", id="dotdot"),
    pytest.param("null", "null", id="null-keyword"),
    pytest.param("NULL", "null", id="null-keyword-upper"),
]


@pytest.mark.parametrize(("account_id", "named"), REFUSED_ACCOUNT_IDS)
def test_check_refuses_an_account_id_the_search_path_cannot_carry_and_says_why(
    account_id: str, named: str
) -> None:
    result = CustomerProvider().check({}, {"accountId": account_id, "partnerId": "lab-partner"})
    reasons = {failure.property: failure.reason for failure in result.failures}
    assert list(reasons) == ["accountId"]
    assert named in reasons["accountId"]
    assert "search" in reasons["accountId"]


@pytest.mark.parametrize(("account_id", "named"), REFUSED_ACCOUNT_IDS)
def test_the_client_refuses_to_search_for_such_an_account_id_before_any_request(
    client: PlumeClient, emulator: EmulatorServer, account_id: str, named: str
) -> None:
    with pytest.raises(e.InputValidationError, match="accountId"):
        client.find_customers_by_account_id(account_id)
    assert _routes(emulator) == set()


ENCODED_ACCOUNT_IDS = [
    pytest.param("ACCT?x=1", id="question-mark"),
    pytest.param("ACCT#1", id="hash"),
    pytest.param("100%", id="percent"),
    pytest.param("100%2F", id="percent-looking-like-an-encoded-slash"),
    pytest.param("%2E%2E", id="percent-looking-like-encoded-dotdot"),
    pytest.param("Ada Lovelace 1", id="spaces"),
    pytest.param(" ACCT-1 ", id="surrounding-spaces"),
    pytest.param("a.b..c.", id="dots-inside"),
    pytest.param("...", id="three-dots"),
    pytest.param("Zürich-1", id="non-ascii"),
    pytest.param("a&field=email", id="query-injection"),
    pytest.param("nullable", id="starts-with-null"),
]


@pytest.mark.parametrize("account_id", ENCODED_ACCOUNT_IDS)
def test_an_account_id_a_path_would_mangle_is_encoded_and_found_by_search(
    client: PlumeClient, emulator: EmulatorServer, account_id: str
) -> None:
    assert CustomerProvider().check({}, {"accountId": account_id, "partnerId": "p"}).failures == []
    customer = client.register_customer(
        CustomerRegistration(account_id=account_id, partner_id="lab-partner")
    )
    hits = client.find_customers_by_account_id(account_id)
    assert [hit.id for hit in hits] == [customer.id]
    assert hits[0].account_id == account_id


@pytest.mark.parametrize("account_id", ["ACCT?x=1", "100%", "Ada Lovelace 1", "%2E%2E"])
def test_a_lost_register_answer_is_recovered_by_search_for_such_an_account_id(
    client: PlumeClient, emulator: EmulatorServer, account_id: str
) -> None:
    emulator.set_faults(
        [{"method": "POST", "path": "/api/Customers/register", "drop": True, "apply": True}]
    )
    customer = client.register_customer(
        CustomerRegistration(account_id=account_id, partner_id="lab-partner")
    )
    accounts = [c["accountId"] for c in emulator.state()["partners"]["lab-partner"]["customers"]]
    assert accounts == [account_id]
    assert customer.account_id == account_id
    assert customer.location_id is not None


@pytest.mark.parametrize("account_id", ["ACCT#1", "a b?c"])
def test_adopt_finds_the_existing_customer_for_such_an_account_id(
    client: PlumeClient, emulator: EmulatorServer, lab_credentials: LabCredentials, account_id: str
) -> None:
    existing = client.register_customer(
        CustomerRegistration(account_id=account_id, partner_id="lab-partner")
    )
    provider = configure(CustomerProvider(), stack_config(lab_credentials))
    try:
        result = provider.create({"accountId": account_id, "adopt": True})
    finally:
        provider.close()
    assert result.id == existing.id
    assert len(emulator.state()["partners"]["lab-partner"]["customers"]) == 1
