"""Operation semantics the resources rely on, with the number of calls each one makes."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client.errors import (
    ApiError,
    ConflictError,
    InputValidationError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from plume_provider.client.models import CustomerRegistration, Node
from plume_provider.client.settings import PlumeSettings

from .conftest import API, PARTNER, Sleeps, TokenEndpoint, plume_error

C, L = "cust-1", "loc-1"
LOC = f"{API}/Customers/{C}/locations/{L}"
REGISTER = f"{API}/Customers/register"
SEARCH = f"{API}/Partners/customers/search/ACME-1"
CUSTOMER = {"id": C, "accountId": "ACME-1", "partnerId": PARTNER, "email": "a@example.org"}
REGISTRATION = CustomerRegistration(
    account_id="ACME-1", partner_id=PARTNER, name="Ada", email="a@example.org"
)
LOCATIONS = f"{API}/Customers/{C}/locations"


def created_now(request: httpx.Request) -> httpx.Response:
    """The customer REGISTRATION creates, as GET answers it right after (createdAt: now)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    return httpx.Response(200, json={**CUSTOMER, "name": "Ada", "createdAt": now})


def mock_locations(mock: respx.MockRouter) -> respx.Route:
    return mock.get(LOCATIONS).mock(
        return_value=httpx.Response(200, json=[{"id": L, "profile": "auto"}])
    )


def node(serial: str, pack: str | None = None) -> dict[str, object]:
    return {"serialNumber": serial, "id": serial, "customerId": C, "locationId": L, "packId": pack}


def lookup(serial: str, customer: str | None = C, location: str | None = L) -> httpx.Response:
    body: dict[str, str | None] = {"serialNumber": serial, "partnerId": PARTNER, "packId": "P1"}
    if customer:
        body |= {"customerId": customer, "locationId": location}
    return httpx.Response(200, json=body)


# -- minimal calls ---------------------------------------------------------------------------


def test_register_is_one_call_plus_one_token(
    client: PlumeClient, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    route = mock.post(REGISTER).mock(
        return_value=httpx.Response(200, json={**CUSTOMER, "locationId": L, "newField": 1})
    )
    customer = client.register_customer(REGISTRATION)
    assert (customer.id, customer.location_id) == (C, L)
    assert route.call_count == 1
    assert len(token_endpoint.issued) == 1
    assert len(mock.calls) == 2
    assert route.calls.last.request.read() == (
        b'{"accountId":"ACME-1","partnerId":"lab-partner","name":"Ada",'
        b'"email":"a@example.org","profile":"auto","acceptLanguage":"en-US"}'
    )


def test_register_answer_that_is_not_a_customer_is_reported_as_such(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A register answer Plume changed the shape of names the call and what was wrong with it."""
    mock.post(REGISTER).mock(return_value=httpx.Response(200, json={**CUSTOMER, "id": ["x"]}))
    with pytest.raises(ApiError) as info:
        client.register_customer(REGISTRATION)
    err = info.value
    assert type(err) is ApiError
    assert str(err).startswith("Plume's answer is not a valid customer")
    assert (err.status, err.method, err.path) == (200, "POST", "/api/Customers/register")
    assert "id" in (err.api_message or "")
    assert "report this" in (err.hint or "")


def test_claim_unclaim_lookup_are_one_call_each(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    claim = mock.post(f"{LOC}/nodes").mock(
        return_value=httpx.Response(200, json={"claimed": [node("S1")]})
    )
    unclaim = mock.delete(f"{LOC}/nodes/S1").mock(return_value=httpx.Response(204))
    look = mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    result = client.claim_node(C, L, "S1", nickname="hall")
    assert result.node.serial_number == "S1"
    assert claim.calls.last.request.read() == b'{"serialNumber":"S1","nickname":"hall"}'
    assert client.unclaim_node(C, L, "S1") is True
    assert client.lookup_node("S1").location_id == L
    assert (claim.call_count, unclaim.call_count, look.call_count) == (1, 1, 1)
    assert len(mock.calls) == 4  # + the one token


# -- register under lost responses -----------------------------------------------------------


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(httpx.ReadTimeout("lost"), id="timeout"),
        pytest.param(httpx.RemoteProtocolError("dropped"), id="dropped"),
        pytest.param(httpx.ReadError("reset"), id="reset"),
        pytest.param(plume_error(502), id="502"),
    ],
)
def test_register_lost_response_finds_the_customer(
    client: PlumeClient,
    mock: respx.MockRouter,
    sleeps: Sleeps,
    lost: httpx.Response | Exception,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The customer the lost attempt created is used, and the log says so (with its id)."""
    register = mock.post(REGISTER).mock(side_effect=[lost])
    search = mock.get(SEARCH).mock(
        return_value=httpx.Response(
            200, json=[{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}]
        )
    )
    get = mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    mock_locations(mock)
    customer = client.register_customer(REGISTRATION)
    assert (customer.id, customer.location_id) == (C, L)
    assert register.call_count == 1
    assert search.call_count == 1
    assert get.call_count == 1
    assert search.calls.last.request.url.params["field"] == "accountId"
    assert len(sleeps) == 1
    assert (
        f"customer accountId=ACME-1 was created by an attempt whose answer was lost; "
        f"using it (id {C})"
    ) in caplog.messages


def test_register_lost_response_fills_location_from_list_when_search_lacks_it(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[{"id": C, "accountId": "ACME-1"}]))
    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    locs = mock.get(f"{API}/Customers/{C}/locations").mock(
        return_value=httpx.Response(200, json=[{"id": L}])
    )
    assert client.register_customer(REGISTRATION).location_id == L
    assert locs.call_count == 1


def test_register_lost_before_creation_registers_again(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    register = mock.post(REGISTER).mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            httpx.Response(200, json={**CUSTOMER, "locationId": L}),
        ]
    )
    search = mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[]))
    assert client.register_customer(REGISTRATION).id == C
    assert register.call_count == 2
    assert search.call_count == 1


def test_register_search_ignores_prefix_matches(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    register = mock.post(REGISTER).mock(
        side_effect=[plume_error(500), httpx.Response(200, json={**CUSTOMER, "locationId": L})]
    )
    mock.get(SEARCH).mock(
        return_value=httpx.Response(200, json=[{"id": "other", "accountId": "ACME-10"}])
    )
    assert client.register_customer(REGISTRATION).id == C
    assert register.call_count == 2


def test_register_409_after_unknown_outcome_returns_our_customer(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost"), plume_error(409)])
    search = mock.get(SEARCH).mock(
        side_effect=[
            httpx.Response(200, json=[]),
            httpx.Response(200, json=[{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}]),
        ]
    )
    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    mock_locations(mock)
    assert client.register_customer(REGISTRATION).id == C
    assert register.call_count == 2
    assert search.call_count == 2


def test_register_answer_without_location_takes_the_first_listed(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Plume answers the register without a locationId: the customer's first location is read,
    so the nodes have a location to be claimed at."""
    mock.post(REGISTER).mock(return_value=httpx.Response(200, json={**CUSTOMER, "name": "Ada"}))
    listed = mock.get(LOCATIONS).mock(
        return_value=httpx.Response(200, json=[{"id": L, "profile": "auto"}, {"id": "second"}])
    )
    customer = client.register_customer(REGISTRATION)
    assert (customer.id, customer.location_id) == (C, L)
    assert listed.call_count == 1


def test_register_409_on_first_attempt_says_accountid_was_taken(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(REGISTER).mock(return_value=plume_error(409, "Duplicate key"))
    search = mock.get(SEARCH)
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    assert str(info.value).startswith("register customer accountId=ACME-1 failed")
    assert "accountId ACME-1 already exists for partner lab-partner" in info.value.hint
    assert "adopt: true" in info.value.hint
    assert "importId" in info.value.hint
    assert search.call_count == 0


def test_register_is_never_resent_without_looking(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    register = mock.post(REGISTER).mock(side_effect=httpx.ReadTimeout("lost"))
    search = mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(TransportError):
        client.register_customer(REGISTRATION)
    assert register.call_count == 4
    assert search.call_count == 3


def test_register_does_not_adopt_a_customer_with_another_email(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost"), plume_error(409)])
    mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[{"id": C, "accountId": "ACME-1"}]))
    mock.get(f"{API}/Customers/{C}").mock(
        return_value=httpx.Response(200, json={**CUSTOMER, "email": "someone@else.org"})
    )
    mock_locations(mock)
    with pytest.raises(ConflictError):
        client.register_customer(REGISTRATION)


def test_register_recovery_never_returns_a_customer_of_another_partner(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A lost answer, and the accountId found belongs to another partner: not ours, and not
    registered again over it either: a ConflictError that names the partner."""
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(
        return_value=httpx.Response(
            200, json=[{"id": "theirs", "accountId": "ACME-1", "locations": [{"id": "their-loc"}]}]
        )
    )
    mock.get(f"{API}/Customers/theirs").mock(
        return_value=httpx.Response(
            200,
            json={
                **CUSTOMER,
                "id": "theirs",
                "name": "Ada",
                "partnerId": "other-partner",
                "createdAt": datetime.now(UTC).isoformat(),
            },
        )
    )
    mock.get(f"{API}/Customers/theirs/locations").mock(
        return_value=httpx.Response(200, json=[{"id": "their-loc", "profile": "auto"}])
    )
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    assert "it belongs to partner other-partner" in info.value.api_message
    assert register.call_count == 1


def test_register_recovery_of_a_customer_without_location_yet(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A lost answer; the customer exists but has no location listed (yet): no location id."""
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[{"id": C, "accountId": "ACME-1"}]))
    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    mock.get(f"{API}/Customers/{C}/locations").mock(return_value=httpx.Response(200, json=[]))
    customer = client.register_customer(REGISTRATION)
    assert (customer.id, customer.location_id) == (C, None)
    assert register.call_count == 1


def test_register_recovery_returns_the_location_the_search_named(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A lost answer; the customer found lists two locations: the recovered customer carries
    the one the accountId search named (the register's), and only that one is checked."""
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(
        return_value=httpx.Response(
            200, json=[{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}]
        )
    )
    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    mock.get(LOCATIONS).mock(
        return_value=httpx.Response(
            200, json=[{"id": "added-later", "profile": "grace"}, {"id": L, "profile": "auto"}]
        )
    )
    customer = client.register_customer(REGISTRATION)
    assert (customer.id, customer.location_id) == (C, L)
    assert register.call_count == 1


def test_register_recovery_refuses_a_customer_whose_location_has_another_profile(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A lost answer; the customer found matches but its location's profile is not the one
    declared: not what this register created, so a ConflictError that says why."""
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(
        return_value=httpx.Response(
            200, json=[{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}]
        )
    )
    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now)
    mock.get(LOCATIONS).mock(return_value=httpx.Response(200, json=[{"id": L, "profile": "grace"}]))
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    assert f"its location's profile is grace, not {REGISTRATION.profile}" in info.value.api_message
    assert register.call_count == 1


def test_register_recovery_takes_a_customer_without_partner_id_as_ours(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Plume may leave partnerId out of the customer: the accountId search is per partner."""
    register = mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(
        return_value=httpx.Response(
            200, json=[{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}]
        )
    )

    def created_now_without_partner(request: httpx.Request) -> httpx.Response:
        body = created_now(request).json()
        return httpx.Response(200, json={k: v for k, v in body.items() if k != "partnerId"})

    mock.get(f"{API}/Customers/{C}").mock(side_effect=created_now_without_partner)
    mock.get(LOCATIONS).mock(return_value=httpx.Response(200, json=[{"id": L, "profile": "auto"}]))
    assert client.register_customer(REGISTRATION).id == C
    assert register.call_count == 1


# -- claim -----------------------------------------------------------------------------------


def test_claim_pack_returns_every_claimed_node(client: PlumeClient, mock: respx.MockRouter) -> None:
    pack = [node("LAB-PK01-1", "PK01"), node("LAB-PK01-2", "PK01"), node("LAB-PK01-3", "PK01")]
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"claimed": pack}))
    result = client.claim_node(C, L, "LAB-PK01-2")
    assert result.node.serial_number == "LAB-PK01-2"
    assert [n.serial_number for n in result.claimed] == ["LAB-PK01-1", "LAB-PK01-2", "LAB-PK01-3"]


@pytest.mark.parametrize(
    "already",
    [
        pytest.param(httpx.Response(204), id="204"),
        pytest.param(httpx.Response(200, json={"claimed": []}), id="200-empty"),
    ],
)
def test_claim_already_claimed_here(
    client: PlumeClient, mock: respx.MockRouter, already: httpx.Response
) -> None:
    claim = mock.post(f"{LOC}/nodes").mock(return_value=already)
    look = mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    nodes = mock.get(f"{LOC}/nodes").mock(
        return_value=httpx.Response(200, json={"nodes": [{**node("S1"), "nickname": "hall"}]})
    )
    result = client.claim_node(C, L, "S1")
    assert result.already_claimed
    assert result.claimed == []
    assert result.node.nickname == "hall"
    assert result.warning is None
    assert (claim.call_count, look.call_count, nodes.call_count) == (1, 1, 1)


def test_claim_whose_answer_was_lost_says_so_and_reads_the_location(
    client: PlumeClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """The first claim's answer is lost and the retry answers 204: the log says why the client
    reads the location next (the line an operator sees), and the node is confirmed there."""
    claim = mock.post(f"{LOC}/nodes").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(204)]
    )
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    mock.get(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"nodes": [node("S1")]}))
    with caplog.at_level("INFO", logger="plume_provider"):
        result = client.claim_node(C, L, "S1")
    assert result.node.serial_number == "S1"
    assert claim.call_count == 2
    assert (
        f"claim of S1: an earlier attempt's answer was lost; reading what it claimed "
        f"from location {L}"
    ) in caplog.messages


def test_claim_answered_already_claimed_takes_the_node_this_process_knows_without_a_lookup(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """A sibling's claim of this process claimed the node moments ago (pack): Plume answers 204
    and `known` returns that node; it is the result, already claimed, and nothing is looked up."""
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(204))
    look = mock.get(f"{API}/Partners/nodes/S1")
    here = mock.get(f"{LOC}/nodes")
    seen = Node.model_validate({**node("S1", "PK01"), "nickname": "hall"})
    result = client.claim_node(C, L, "S1", known=lambda: seen)
    assert (result.node, result.claimed, result.already_claimed) == (seen, [], True)
    assert (look.call_count, here.call_count) == (0, 0)


def test_claim_204_but_claimed_elsewhere_is_a_conflict(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(204))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1", "other-cust", "other-loc"))
    with pytest.raises(ConflictError) as info:
        client.claim_node(C, L, "S1")
    assert "claimed by another customer" in info.value.hint
    assert "other-cust" in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(204), id="204"),
        pytest.param(httpx.Response(200, json={"claimed": []}), id="200-empty"),
    ],
)
def test_claim_answered_already_claimed_but_at_another_location_of_the_customer_is_a_conflict(
    client: PlumeClient, mock: respx.MockRouter, answer: httpx.Response
) -> None:
    """Same customer, other location: the node is not where it was declared, so not done."""
    mock.post(f"{LOC}/nodes").mock(return_value=answer)
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1", C, "loc-2"))
    here = mock.get(f"{LOC}/nodes")
    with pytest.raises(ConflictError) as info:
        client.claim_node(C, L, "S1")
    err = info.value
    assert (err.status, err.method, err.path, err.operation) == (
        None,
        "GET",
        "/Partners/nodes/S1",
        "claim_node",
    )
    assert str(err).startswith("claim node S1 failed")
    assert err.api_message == (
        f"Plume claimed nothing new, and node S1 is at customer {C}, location loc-2"
    )
    assert here.call_count == 0


def test_claim_answered_already_claimed_of_a_node_claimed_nowhere_is_a_conflict(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(204))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1", None))
    with pytest.raises(ConflictError) as info:
        client.claim_node(C, L, "S1")
    assert info.value.api_message == (
        "Plume claimed nothing new, and node S1 is at customer none, location none"
    )


def test_claim_confirmed_here_but_missing_from_the_location_list_is_built_from_the_lookup(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Plume's list lags behind its lookup: the node is still reported, with what is known."""
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(204))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    mock.get(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"nodes": []}))
    result = client.claim_node(C, L, "S1")
    assert result.already_claimed
    assert result.claimed == []
    node = result.node
    assert (node.serial_number, node.pack_id, node.customer_id, node.location_id) == (
        "S1",
        "P1",
        C,
        L,
    )


def test_claim_503_with_the_node_at_another_location_of_the_customer_raises_the_503(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=plume_error(503, "post-claim hook failed"))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1", C, "loc-2"))
    with pytest.raises(ServerError) as info:
        client.claim_node(C, L, "S1")
    assert info.value.status == 503
    assert info.value.api_message == "post-claim hook failed"


def test_claim_503_confirmed_succeeds_with_warning(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    claim = mock.post(f"{LOC}/nodes").mock(return_value=plume_error(503, "post-claim hook failed"))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    mock.get(f"{LOC}/nodes").mock(
        return_value=httpx.Response(
            200, json={"nodes": [node("S1", "P1"), node("S2", "P1"), node("GW"), node("X", "P2")]}
        )
    )
    result = client.claim_node(C, L, "S1")
    assert claim.call_count == 1
    assert sleeps == []
    assert result.warning is not None
    assert "post-claim hook failed" in result.warning
    assert not result.already_claimed
    assert [n.serial_number for n in result.claimed] == ["S1", "S2"]  # its pack, nothing else


def test_claim_503_confirmed_of_a_node_without_pack_reports_just_the_node(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=plume_error(503))
    mock.get(f"{API}/Partners/nodes/S1").mock(
        return_value=httpx.Response(
            200, json={"serialNumber": "S1", "customerId": C, "locationId": L}
        )
    )
    mock.get(f"{LOC}/nodes").mock(
        return_value=httpx.Response(200, json={"nodes": [node("GW"), node("S1")]})
    )
    result = client.claim_node(C, L, "S1")
    assert [n.serial_number for n in result.claimed] == ["S1"]


def test_claim_503_not_confirmed_raises(client: PlumeClient, mock: respx.MockRouter) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=plume_error(503))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1", None))
    with pytest.raises(ServerError) as info:
        client.claim_node(C, L, "S1")
    assert info.value.status == 503


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(httpx.ReadTimeout("lost"), id="timeout"),
        pytest.param(httpx.RemoteProtocolError("dropped"), id="dropped"),
        pytest.param(plume_error(500), id="500"),
    ],
)
def test_claim_retry_after_lost_response_then_204_succeeds(
    client: PlumeClient, mock: respx.MockRouter, lost: httpx.Response | Exception
) -> None:
    claim = mock.post(f"{LOC}/nodes").mock(side_effect=[lost, httpx.Response(204)])
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    mock.get(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"nodes": [node("S1")]}))
    result = client.claim_node(C, L, "S1")
    assert result.node.serial_number == "S1"
    assert claim.call_count == 2


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(httpx.ReadTimeout("lost"), id="timeout"),
        pytest.param(httpx.RemoteProtocolError("dropped"), id="dropped"),
        pytest.param(plume_error(502), id="502"),
    ],
)
def test_pack_claim_with_a_lost_answer_reconciles_the_pack_from_the_location(
    client: PlumeClient, mock: respx.MockRouter, lost: httpx.Response | Exception
) -> None:
    pack = [node("PK-1", "P1"), node("PK-2", "P1"), node("PK-3", "P1"), node("GW-1")]
    mock.post(f"{LOC}/nodes").mock(side_effect=[lost, httpx.Response(204)])
    mock.get(f"{API}/Partners/nodes/PK-1").mock(return_value=lookup("PK-1"))
    mock.get(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"nodes": pack}))
    result = client.claim_node(C, L, "PK-1")
    assert result.node.serial_number == "PK-1"
    assert result.already_claimed is False
    assert sorted(n.serial_number for n in result.claimed) == ["PK-1", "PK-2", "PK-3"]


def test_claim_answer_in_other_case_picks_the_requested_serial(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Plume may spell the serial in another case; the node picked is still the one asked for."""
    pack = [node("LAB-PK01-1", "PK01"), node("LAB-PK01-2", "PK01"), node("LAB-PK01-3", "PK01")]
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"claimed": pack}))
    result = client.claim_node(C, L, "lab-pk01-2")
    assert result.node.serial_number == "LAB-PK01-2"


def test_claim_answer_with_an_invalid_node_is_reported_as_such(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(
        return_value=httpx.Response(200, json={"claimed": [{"serialNumber": ["not", "text"]}]})
    )
    with pytest.raises(ApiError) as info:
        client.claim_node(C, L, "S1")
    err = info.value
    assert str(err).startswith("Plume's answer is not a valid node")
    assert (err.status, err.method, err.path) == (
        200,
        "POST",
        f"/api/Customers/{C}/locations/{L}/nodes",
    )


def test_claim_503_without_a_message_warns_that_the_service_was_unavailable(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=httpx.Response(503))
    mock.get(f"{API}/Partners/nodes/S1").mock(return_value=lookup("S1"))
    mock.get(f"{LOC}/nodes").mock(return_value=httpx.Response(200, json={"nodes": [node("S1")]}))
    result = client.claim_node(C, L, "S1")
    assert result.warning is not None
    assert "(HTTP 503: service unavailable)" in result.warning


def test_claim_failure_names_the_node_and_without_partner_says_so(
    mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    # A pre-issued token carries its partner; the client may not know it.
    anonymous = PlumeSettings(
        api_url=API, token="pre-issued-token-1", requests_per_second=0, max_retries=0
    )
    mock.post(f"{LOC}/nodes").mock(return_value=plume_error(404, "no such serial"))
    with PlumeClient(anonymous, sleep=sleeps) as c, pytest.raises(NotFoundError) as info:
        c.claim_node(C, L, "S1")
    assert str(info.value).startswith("claim node S1 failed")
    assert "serial S1 is not in partner ?'s inventory" in info.value.hint


def test_unclaim_failure_names_the_operation_and_the_node(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.delete(f"{LOC}/nodes/S1").mock(return_value=plume_error(403, "not yours", "Forbidden"))
    with pytest.raises(PermissionDeniedError) as info:
        client.unclaim_node(C, L, "S1")
    assert info.value.operation == "unclaim_node"
    assert str(info.value).startswith("unclaim node S1 failed")


@pytest.mark.parametrize(
    ("answer", "deleted"),
    [
        pytest.param(httpx.Response(200, json={"count": 1}), True, id="count-1"),
        pytest.param(httpx.Response(200, json={"count": 0}), False, id="count-0"),
        pytest.param(httpx.Response(204), True, id="204"),
        pytest.param(plume_error(404), False, id="404-already-gone"),
    ],
)
def test_delete_customer_says_whether_it_deleted(
    client: PlumeClient, mock: respx.MockRouter, answer: httpx.Response, deleted: bool
) -> None:
    mock.delete(f"{API}/Customers/{C}").mock(return_value=answer)
    assert client.delete_customer(C) is deleted


def test_delete_customer_failure_names_the_operation_and_the_customer(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.delete(f"{API}/Customers/{C}").mock(return_value=plume_error(403, "no", "Forbidden"))
    with pytest.raises(PermissionDeniedError) as info:
        client.delete_customer(C)
    assert info.value.operation == "delete_customer"
    assert str(info.value).startswith(f"delete customer {C} failed")


@pytest.mark.parametrize("serial", ["", " ", "A/B", " S1", "S\n1"])
def test_bad_serial_rejected_before_any_call(
    client: PlumeClient, mock: respx.MockRouter, serial: str
) -> None:
    with pytest.raises(InputValidationError):
        client.claim_node(C, L, serial)
    assert len(mock.calls) == 0


def test_ids_are_percent_encoded(client: PlumeClient, mock: respx.MockRouter) -> None:
    route = mock.get(f"{API}/Partners/customers/search/A%20B%3F").mock(
        return_value=httpx.Response(200, json=[{"id": "x", "accountId": "A B?"}])
    )
    assert [hit.id for hit in client.find_customers_by_account_id("A B?")] == ["x"]
    assert route.call_count == 1


def test_empty_update_rejected(client: PlumeClient, mock: respx.MockRouter) -> None:
    from plume_provider.client.models import CustomerUpdate

    with pytest.raises(InputValidationError):
        client.update_customer(C, CustomerUpdate())
    assert len(mock.calls) == 0


# -- register never takes over a customer that existed before its first attempt ---------------


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _refused(err: ConflictError) -> None:
    assert f"customer {C}" in err.api_message
    assert f"accountId ACME-1 already exists for partner {PARTNER} (customer {C})" in err.hint
    assert "adopt: true" in err.hint
    assert f"importId: {C}" in err.hint


def test_register_retry_refuses_a_customer_without_created_at(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """When in doubt (no createdAt to compare), the customer found is not ours."""
    register = mock.post(REGISTER).mock(side_effect=[plume_error(500)])
    mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[{"id": C, "accountId": "ACME-1"}]))
    mock.get(f"{API}/Customers/{C}").mock(
        return_value=httpx.Response(200, json={**CUSTOMER, "name": "Ada"})
    )
    mock_locations(mock)
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    _refused(info.value)
    assert "no createdAt" in info.value.api_message
    assert register.call_count == 1


def test_register_retry_refuses_an_identical_customer_created_before_the_first_attempt(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Every field matches; only createdAt (a day before, on Plume's clock) tells them apart."""
    mock.post(REGISTER).mock(side_effect=[httpx.ReadTimeout("lost")])
    mock.get(SEARCH).mock(return_value=httpx.Response(200, json=[{"id": C, "accountId": "ACME-1"}]))
    yesterday = time.time() - 86_400
    mock.get(f"{API}/Customers/{C}").mock(
        return_value=httpx.Response(
            200, json={**CUSTOMER, "name": "Ada", "createdAt": _iso(yesterday)}
        )
    )
    mock_locations(mock)
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    _refused(info.value)
    assert "before this run's first register attempt" in info.value.api_message


def test_register_retry_reads_plumes_clock_from_date_to_refuse_a_recent_household(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    """Plume's clock runs 60 s behind ours (its `Date` says so); a household it created 30 s
    before our first attempt (on its clock) predates the attempt, though the local clock alone
    could not tell."""
    behind = 60.0

    def plume_date() -> dict[str, str]:
        return {"Date": email.utils.formatdate(time.time() - behind, usegmt=True)}

    started = time.time()
    mock.post(REGISTER).mock(side_effect=[httpx.Response(500, headers=plume_date())])
    mock.get(SEARCH).mock(
        side_effect=lambda r: httpx.Response(
            200, json=[{"id": C, "accountId": "ACME-1"}], headers=plume_date()
        )
    )
    created = _iso(started - behind - 30)
    mock.get(f"{API}/Customers/{C}").mock(
        side_effect=lambda r: httpx.Response(
            200, json={**CUSTOMER, "name": "Ada", "createdAt": created}, headers=plume_date()
        )
    )
    mock.get(LOCATIONS).mock(
        side_effect=lambda r: httpx.Response(
            200, json=[{"id": L, "profile": "auto"}], headers=plume_date()
        )
    )
    with pytest.raises(ConflictError) as info:
        client.register_customer(REGISTRATION)
    _refused(info.value)
