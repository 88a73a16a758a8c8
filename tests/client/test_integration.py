"""The client against the emulator: a real HTTP server with Plume's rules and fault injection.

Fixtures `emulator`, `emulator_factory` and `lab_credentials` come from tests/conftest.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from plume_emulator.options import ManualClock
from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import PlumeClient
from plume_provider.client import errors as e
from plume_provider.client._auth import clear_token_cache
from plume_provider.client._ratelimit import clear_buckets
from plume_provider.client.models import CustomerRegistration, CustomerUpdate
from plume_provider.client.settings import PlumeSettings

from .conftest import Sleeps

REGISTER = "/api/Customers/register"
CLAIM = "/api/Customers/{customerId}/locations/{locationId}/nodes"


def lab_settings(creds: LabCredentials) -> PlumeSettings:
    return PlumeSettings(
        api_url=creds.api_url,
        token_url=creds.token_url,
        auth_header=creds.auth_header,
        partner_id=creds.partner_id,
        requests_per_second=0,
        timeout_seconds=5,
    )


def make_client(creds: LabCredentials) -> PlumeClient:
    return PlumeClient(lab_settings(creds), sleep=Sleeps())


@pytest.fixture
def client(lab_credentials: LabCredentials) -> Iterator[PlumeClient]:
    clear_token_cache()
    clear_buckets()
    with make_client(lab_credentials) as c:
        yield c


def register(client: PlumeClient, account_id: str, **extra: Any) -> Any:
    return client.register_customer(
        CustomerRegistration(account_id=account_id, partner_id="lab-partner", **extra)
    )


def calls(server: EmulatorServer, method: str, route: str) -> int:
    return sum(
        r["count"]
        for r in server.stats()["requests"]
        if r["method"] == method and r["route"] == route
    )


def customers(server: EmulatorServer) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = server.state()["partners"]["lab-partner"]["customers"]
    return result


def test_customer_lifecycle(client: PlumeClient, emulator: EmulatorServer) -> None:
    customer = register(client, "ACME-1", name="Ada Lovelace", email="ada@example.org")
    assert customer.location_id
    assert calls(emulator, "POST", REGISTER) == 1
    assert emulator.stats()["tokens_issued"] == 1

    fetched = client.get_customer(customer.id)
    assert (fetched.account_id, fetched.email) == ("ACME-1", "ada@example.org")
    updated = client.update_customer(customer.id, CustomerUpdate(name="Ada King"))
    assert updated.name == "Ada King"

    hits = client.find_customers_by_account_id("ACME-1")
    assert [h.id for h in hits] == [customer.id]
    assert hits[0].location_ids == [customer.location_id]
    assert client.find_customers_by_account_id("ACME") == []

    locations = client.list_locations(customer.id)
    assert [loc.id for loc in locations] == [customer.location_id]
    assert locations[0].num_pods_authorized == 32
    result = client.set_onboarding_checkpoint(customer.id, customer.location_id, "PodsAdded")
    assert result.value == "PodsAdded"

    assert client.delete_customer(customer.id) is True
    assert client.delete_customer(customer.id) is False
    with pytest.raises(e.NotFoundError):
        client.get_customer(customer.id)
    assert emulator.stats()["tokens_issued"] == 1


def test_register_rules(client: PlumeClient, emulator: EmulatorServer) -> None:
    register(client, "ACME-2", email="dup@example.org")
    with pytest.raises(e.ConflictError) as info:
        register(client, "ACME-2")
    assert "adopt: true" in info.value.hint
    with pytest.raises(e.UnprocessableEntityError) as invalid:
        register(client, "ACME-3", email="dup@example.org")
    assert "already exists" in invalid.value.api_message
    assert "not used by another customer" in invalid.value.hint
    # the email's 422 is looked up once (ACME-3 is nobody's) before the email is blamed
    assert calls(emulator, "GET", "/api/Partners/customers/search/{value}") == 1


def test_register_of_this_stack_s_unrecorded_customer_is_the_accountid_conflict_not_the_email(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    """An update killed mid-register leaves the customer in Plume and not in the state; the
    rerun's register meets Plume's email check first. The error names the customer and the
    adopt / importId way forward, not "use another email"."""
    orphan = register(client, "ACME-4", name="Ann", email="Ann@Example.org")
    with pytest.raises(e.ConflictError) as info:
        register(client, "ACME-4", name="Ann", email="ann@example.org")
    assert info.value.status == 422
    assert f"customer {orphan.id}, which already has accountId ACME-4" in info.value.api_message
    assert "adopt: true" in info.value.hint
    assert f"importId: {orphan.id}" in info.value.hint
    assert "email" not in info.value.hint
    assert len([x for x in customers(emulator) if x["accountId"] == "ACME-4"]) == 1


def test_locked_partner(emulator: EmulatorServer) -> None:
    with (
        make_client(emulator.credentials("locked-partner")) as c,
        pytest.raises(e.PartnerLockedError) as info,
    ):
        c.register_customer(CustomerRegistration(account_id="X", partner_id="locked-partner"))
    assert "locked-partner is locked" in info.value.hint


def test_bad_credentials(lab_credentials: LabCredentials) -> None:
    bad = LabCredentials(
        lab_credentials.token_url, lab_credentials.api_url, "lab-client", "wrong", "lab-partner"
    )
    with make_client(bad) as c, pytest.raises(e.AuthenticationError) as info:
        c.lookup_node("LAB-POD-0001")
    assert info.value.hint.startswith("credentials rejected: check PLUME_AUTH_HEADER")
    assert f"token endpoint {lab_credentials.token_url} rejected the credentials" in str(info.value)
    assert "wrong" not in str(info.value)


def test_token_endpoint_503_once_is_retried_and_the_call_succeeds(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    emulator.set_faults([{"method": "POST", "path": "/oauth2/token", "status": 503, "times": 1}])
    assert client.lookup_node("LAB-POD-0001").serial_number == "LAB-POD-0001"
    assert calls(emulator, "POST", "/oauth2/token") == 2
    assert calls(emulator, "GET", "/api/Partners/nodes/{serialNumber}") == 1


def test_nodes_lifecycle(client: PlumeClient, emulator: EmulatorServer) -> None:
    customer = register(client, "ACME-N")
    cid, lid = customer.id, customer.location_id
    gw = client.claim_node(cid, lid, "LAB-GW-0001", nickname="gateway")
    assert gw.node.residential_gateway is True
    assert gw.node.nickname == "gateway"
    assert [n.serial_number for n in gw.claimed] == ["LAB-GW-0001"]
    client.claim_node(cid, lid, "LAB-POD-0007")
    assert sorted(n.serial_number for n in client.list_nodes(cid, lid)) == [
        "LAB-GW-0001",
        "LAB-POD-0007",
    ]
    renamed = client.rename_node(cid, lid, gw.node.id or "LAB-GW-0001", "hall")
    assert renamed.nickname == "hall"
    found = client.lookup_node("LAB-POD-0007")
    assert (found.customer_id, found.location_id) == (cid, lid)

    emulator.reset_stats()
    again = client.claim_node(cid, lid, "LAB-POD-0007")
    assert again.already_claimed
    assert again.node.serial_number == "LAB-POD-0007"

    assert client.unclaim_node(cid, lid, "LAB-POD-0007") is True
    assert client.unclaim_node(cid, lid, "LAB-POD-0007") is False
    assert client.lookup_node("LAB-POD-0007").customer_id is None
    claimed = emulator.state()["partners"]["lab-partner"]["claimed_nodes"]
    assert [n["serialNumber"] for n in claimed] == ["LAB-GW-0001"]


def test_pack_claim(client: PlumeClient, emulator: EmulatorServer) -> None:
    customer = register(client, "ACME-P")
    result = client.claim_node(customer.id, customer.location_id, "LAB-PK01-1")
    assert result.node.serial_number == "LAB-PK01-1"
    assert sorted(n.serial_number for n in result.claimed) == [
        "LAB-PK01-1",
        "LAB-PK01-2",
        "LAB-PK01-3",
    ]
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 3


def test_license_limit(emulator_factory: Any) -> None:
    server = emulator_factory(pods_authorized=2)
    with make_client(server.credentials()) as c:
        customer = register(c, "ACME-L")
        c.claim_node(customer.id, customer.location_id, "LAB-POD-0001")
        c.claim_node(customer.id, customer.location_id, "LAB-POD-0002")
        with pytest.raises(e.LicenseLimitError) as info:
            c.claim_node(customer.id, customer.location_id, "LAB-POD-0003")
    assert info.value.hint == (
        f"location {customer.location_id} has reached numPodsAuthorized=2; unclaim a node or "
        "ask Plume for more licenses"
    )


def test_claimed_by_another_customer(client: PlumeClient) -> None:
    first, second = register(client, "ACME-A"), register(client, "ACME-B")
    client.claim_node(first.id, first.location_id, "LAB-POD-0011")
    with pytest.raises(e.ConflictError) as info:
        client.claim_node(second.id, second.location_id, "LAB-POD-0011")
    assert info.value.hint == (
        "node LAB-POD-0011 is claimed by another customer; unclaim it there first"
    )


def test_unknown_serial_and_other_partners_node(client: PlumeClient) -> None:
    customer = register(client, "ACME-U")
    with pytest.raises(e.NotFoundError) as info:
        client.claim_node(customer.id, customer.location_id, "LAB-NOPE-0001")
    assert "serial LAB-NOPE-0001 is not in partner lab-partner's inventory" in info.value.hint
    with pytest.raises(e.PermissionDeniedError):
        client.lookup_node("OTH-GW-0001")


def test_already_claimed_as_200_empty(emulator_factory: Any) -> None:
    server = emulator_factory(already_claimed_status=200)
    with make_client(server.credentials()) as c:
        customer = register(c, "ACME-E")
        c.claim_node(customer.id, customer.location_id, "LAB-POD-0020")
        again = c.claim_node(customer.id, customer.location_id, "LAB-POD-0020")
    assert again.already_claimed
    assert again.node.serial_number == "LAB-POD-0020"


def test_register_response_dropped_after_commit(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    emulator.set_faults(
        [{"method": "POST", "path": REGISTER, "drop": True, "apply": True, "times": 1}]
    )
    customer = register(client, "ACME-DROP", email="drop@example.org")
    assert customer.location_id
    mine = [c for c in customers(emulator) if c["accountId"] == "ACME-DROP"]
    assert len(mine) == 1
    assert mine[0]["id"] == customer.id
    assert calls(emulator, "POST", REGISTER) == 1


def test_register_500_after_commit(client: PlumeClient, emulator: EmulatorServer) -> None:
    emulator.set_faults(
        [{"method": "POST", "path": REGISTER, "status": 500, "apply": True, "times": 1}]
    )
    customer = register(client, "ACME-500")
    assert len([c for c in customers(emulator) if c["accountId"] == "ACME-500"]) == 1
    assert client.get_customer(customer.id).account_id == "ACME-500"


def test_register_500_before_commit_registers_once(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    emulator.set_faults([{"method": "POST", "path": REGISTER, "status": 500, "times": 1}])
    register(client, "ACME-501")
    assert len([c for c in customers(emulator) if c["accountId"] == "ACME-501"]) == 1
    assert calls(emulator, "POST", REGISTER) == 2


HOUSEHOLD = {"name": "Ada Lovelace", "email": "ada@example.org"}


@pytest.mark.parametrize(
    "retried",
    [
        pytest.param({"name": "Bob Other"}, id="other-name"),
        pytest.param({}, id="no-name-no-email"),
        pytest.param({"name": "Ada Lovelace"}, id="same-name-no-email"),
    ],
)
def test_retried_register_over_an_existing_household_raises_conflict_and_changes_nothing(
    client: PlumeClient, emulator: EmulatorServer, retried: dict[str, str]
) -> None:
    household = register(client, "HOME-1", **HOUSEHOLD)
    before = [c for c in customers(emulator) if c["accountId"] == "HOME-1"]
    emulator.set_faults([{"method": "POST", "path": REGISTER, "status": 500, "times": 1}])
    with pytest.raises(e.ConflictError) as info:
        register(client, "HOME-1", **retried)
    err = info.value
    assert f"customer {household.id}" in err.api_message
    assert "adopt: true" in err.hint
    assert f"importId: {household.id}" in err.hint
    assert [c for c in customers(emulator) if c["accountId"] == "HOME-1"] == before
    live = client.get_customer(household.id)
    assert (live.name, live.email) == (HOUSEHOLD["name"], HOUSEHOLD["email"])
    assert calls(emulator, "PATCH", "/api/Customers/{customerId}") == 0
    assert calls(emulator, "POST", REGISTER) == 2


def test_retried_register_refuses_an_identical_household_created_an_hour_before(
    emulator_factory: Any,
) -> None:
    """Same (absent) name and email: only createdAt, on the emulator's clock, tells them apart."""
    clock = ManualClock(time.time() - 3600)
    server = emulator_factory(clock=clock)
    with make_client(server.credentials()) as c:
        household = register(c, "HOME-2")
        clock.advance(3600)
        server.set_faults([{"method": "POST", "path": REGISTER, "status": 500, "times": 1}])
        with pytest.raises(e.ConflictError) as info:
            register(c, "HOME-2")
    assert f"customer {household.id}" in info.value.api_message
    assert "before this run's first register attempt" in info.value.api_message
    assert len([x for x in customers(server) if x["accountId"] == "HOME-2"]) == 1


def test_claim_503_after_commit_warns(client: PlumeClient, emulator: EmulatorServer) -> None:
    customer = register(client, "ACME-503")
    emulator.set_faults(
        [{"method": "POST", "path": CLAIM, "status": 503, "apply": True, "times": 1}]
    )
    result = client.claim_node(customer.id, customer.location_id, "LAB-POD-0030")
    assert result.warning
    assert result.node.serial_number == "LAB-POD-0030"


def test_claim_response_dropped_is_retried(client: PlumeClient, emulator: EmulatorServer) -> None:
    customer = register(client, "ACME-CD")
    emulator.set_faults(
        [{"method": "POST", "path": CLAIM, "drop": True, "apply": True, "times": 1}]
    )
    result = client.claim_node(customer.id, customer.location_id, "LAB-POD-0031")
    assert result.node.serial_number == "LAB-POD-0031"
    assert result.node.location_id == customer.location_id


def test_pack_claim_whose_answer_is_dropped_reports_every_node_it_claimed(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    customer = register(client, "ACME-PD")
    emulator.set_faults(
        [{"method": "POST", "path": CLAIM, "drop": True, "apply": True, "times": 1}]
    )
    result = client.claim_node(customer.id, customer.location_id, "LAB-PK02-1")
    assert not result.already_claimed
    assert sorted(n.serial_number for n in result.claimed) == [
        "LAB-PK02-1",
        "LAB-PK02-2",
        "LAB-PK02-3",
    ]
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 3
    assert calls(emulator, "POST", CLAIM) == 2


def test_waf_block_is_waited_out(emulator_factory: Any) -> None:
    server = emulator_factory(waf_limit=4, waf_window=1.0)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with PlumeClient(lab_settings(server.credentials()), sleep=sleep) as c:
        for _ in range(6):
            c.lookup_node("LAB-POD-0001")
    assert waits
    assert all(w >= 1.0 for w in waits)
