"""Every documented status code of every operation maps to the right result or error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client import errors as e
from plume_provider.client.models import CustomerRegistration, CustomerUpdate

from .conftest import API, PARTNER, plume_error

C, L, S = "cust-1", "loc-1", "LAB-POD-0007"
LOC = f"{API}/Customers/{C}/locations/{L}"
NODE = {"serialNumber": S, "id": S, "nickname": "hall", "customerId": C, "locationId": L}
CUSTOMER = {"id": C, "accountId": "ACME-1", "partnerId": PARTNER, "locationId": L, "name": "A"}


@dataclass(frozen=True)
class Op:
    method: str
    url: str
    call: Callable[[PlumeClient], Any]
    ok_status: int
    ok_body: Any


OPS: dict[str, Op] = {
    "register": Op(
        "POST",
        f"{API}/Customers/register",
        lambda c: c.register_customer(
            CustomerRegistration(account_id="ACME-1", partner_id=PARTNER)
        ),
        200,
        CUSTOMER,
    ),
    "get_customer": Op("GET", f"{API}/Customers/{C}", lambda c: c.get_customer(C), 200, CUSTOMER),
    "update_customer": Op(
        "PATCH",
        f"{API}/Customers/{C}",
        lambda c: c.update_customer(C, CustomerUpdate(name="New")),
        200,
        CUSTOMER,
    ),
    "delete_customer": Op(
        "DELETE", f"{API}/Customers/{C}", lambda c: c.delete_customer(C), 200, {"count": 1}
    ),
    "list_locations": Op(
        "GET",
        f"{API}/Customers/{C}/locations",
        lambda c: c.list_locations(C),
        200,
        [{"id": L, "authorizations": {"numPodsAuthorized": 32}}],
    ),
    "checkpoint": Op(
        "POST",
        f"{LOC}/onboardingCheckpoint",
        lambda c: c.set_onboarding_checkpoint(C, L, "PodsAdded"),
        200,
        {"checkpoint": {"value": "PodsAdded", "timestamp": "2026-01-01T00:00:00Z"}},
    ),
    "search": Op(
        "GET",
        f"{API}/Partners/customers/search/ACME-1",
        lambda c: c.find_customers_by_account_id("ACME-1"),
        200,
        [{"id": C, "accountId": "ACME-1", "locations": [{"id": L}]}],
    ),
    "claim": Op("POST", f"{LOC}/nodes", lambda c: c.claim_node(C, L, S), 200, {"claimed": [NODE]}),
    "list_nodes": Op("GET", f"{LOC}/nodes", lambda c: c.list_nodes(C, L), 200, {"nodes": [NODE]}),
    "rename": Op("PUT", f"{LOC}/nodes/{S}", lambda c: c.rename_node(C, L, S, "hall"), 200, NODE),
    "unclaim": Op("DELETE", f"{LOC}/nodes/{S}", lambda c: c.unclaim_node(C, L, S), 204, None),
    "lookup": Op(
        "GET",
        f"{API}/Partners/nodes/{S}",
        lambda c: c.lookup_node(S),
        200,
        {"serialNumber": S, "packId": "P1", "partnerId": PARTNER, "customerId": C, "locationId": L},
    ),
}

# (operation, status, expected): an exception class, or a predicate on the return value.
Expected = type[Exception] | Callable[[Any], bool]
TABLE: list[tuple[str, int, Expected, str]] = [
    ("register", 200, lambda r: r.id == C and r.location_id == L, ""),
    ("register", 400, e.BadRequestError, "required field"),
    ("register", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("register", 403, e.PartnerLockedError, "locked for new accounts"),
    ("register", 404, e.NotFoundError, f"partner {PARTNER} is unknown"),
    ("register", 409, e.ConflictError, "adopt: true"),
    ("register", 422, e.UnprocessableEntityError, "email"),
    ("register", 500, e.ServerError, "retry later"),
    ("get_customer", 200, lambda r: r.account_id == "ACME-1", ""),
    ("get_customer", 401, e.AuthenticationError, f"customer {C} is unknown to this partner"),
    ("get_customer", 404, e.NotFoundError, f"customer {C} does not exist"),
    ("update_customer", 200, lambda r: r.id == C, ""),
    ("update_customer", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("update_customer", 409, e.ConflictError, "already used"),
    ("update_customer", 422, e.UnprocessableEntityError, "email"),
    ("update_customer", 500, e.ServerError, "retry later"),
    ("delete_customer", 200, lambda r: r is True, ""),
    ("delete_customer", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("delete_customer", 404, lambda r: r is False, ""),
    ("delete_customer", 500, e.ServerError, "retry later"),
    ("list_locations", 200, lambda r: r[0].num_pods_authorized == 32, ""),
    ("list_locations", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("list_locations", 404, e.NotFoundError, f"customer {C}"),
    ("checkpoint", 200, lambda r: r.value == "PodsAdded", ""),
    ("checkpoint", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("checkpoint", 404, e.NotFoundError, f"location {L}"),
    ("checkpoint", 422, e.UnprocessableEntityError, "PodsAdded or OnboardingComplete"),
    ("search", 200, lambda r: r[0].location_ids == [L], ""),
    ("search", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("search", 403, e.PermissionDeniedError, "partnerId scope"),
    ("search", 404, lambda r: r == [], ""),
    ("search", 422, e.UnprocessableEntityError, "accountId"),
    ("claim", 200, lambda r: r.node.serial_number == S and not r.already_claimed, ""),
    ("claim", 204, lambda r: r.already_claimed and r.node.nickname == "hall", ""),
    ("claim", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    (
        "claim",
        404,
        e.NotFoundError,
        f"serial {S} is not in partner {PARTNER}'s inventory; check the serial or ask Plume "
        "to provision it",
    ),
    ("claim", 409, e.ConflictError, f"node {S} is claimed by another customer; unclaim it there"),
    ("claim", 422, e.LicenseLimitError, f"location {L} has reached numPodsAuthorized=32"),
    ("claim", 500, e.ServerError, "inventory"),
    ("claim", 503, lambda r: r.warning and "503" in r.warning and not r.already_claimed, ""),
    ("list_nodes", 200, lambda r: r[0].nickname == "hall", ""),
    ("list_nodes", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("list_nodes", 404, e.NotFoundError, f"location {L}"),
    ("rename", 200, lambda r: r.nickname == "hall", ""),
    ("rename", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("rename", 404, e.NotFoundError, f"node {S}"),
    ("unclaim", 204, lambda r: r is True, ""),
    ("unclaim", 400, lambda r: r is False, ""),
    ("unclaim", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("unclaim", 404, lambda r: r is False, ""),
    ("unclaim", 500, e.ServerError, "retry later"),
    ("lookup", 200, lambda r: r.customer_id == C and r.pack_id == "P1", ""),
    ("lookup", 401, e.AuthenticationError, "PLUME_AUTH_HEADER"),
    ("lookup", 403, e.PermissionDeniedError, "another partner"),
    ("lookup", 404, e.NotFoundError, f"serial {S} is unknown"),
]

_LOOKUP = {"serialNumber": S, "partnerId": PARTNER, "customerId": C, "locationId": L}
_CONFIRM = [
    ("GET", f"{API}/Partners/nodes/{S}", httpx.Response(200, json=_LOOKUP)),
    ("GET", f"{LOC}/nodes", httpx.Response(200, json={"nodes": [NODE]})),
]
EXTRA: dict[tuple[str, int], list[tuple[str, str, httpx.Response]]] = {
    ("register", 500): [
        ("GET", f"{API}/Partners/customers/search/ACME-1", httpx.Response(200, json=[]))
    ],
    ("claim", 204): _CONFIRM,
    ("claim", 503): _CONFIRM,
}
MESSAGES = {422: "Claiming request exceeded numPodsAuthorized (32)"}


@pytest.mark.parametrize(
    ("op_name", "status", "expected", "hint"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]}") for row in TABLE],
)
def test_status(
    client: PlumeClient,
    mock: respx.MockRouter,
    op_name: str,
    status: int,
    expected: Expected,
    hint: str,
) -> None:
    op = OPS[op_name]
    if status == op.ok_status or (status == 200 and op.ok_status == 204):
        response = httpx.Response(status, json=op.ok_body)
    elif status == 204:
        response = httpx.Response(204)
    else:
        response = plume_error(status, MESSAGES.get(status, ""))
    route = mock.route(method=op.method, url=op.url).mock(return_value=response)
    for method, url, extra in EXTRA.get((op_name, status), []):
        mock.route(method=method, url=url).mock(return_value=extra)

    if isinstance(expected, type):
        with pytest.raises(expected) as info:
            op.call(client)
        err = info.value
        assert isinstance(err, e.ApiError)
        assert err.status == status
        assert err.method == op.method
        assert err.path == httpx.URL(op.url).path
        assert hint in err.hint, err.hint
        text = str(err)
        assert f"HTTP {status}" in text
        assert len(text.splitlines()) <= 2
    else:
        assert expected(op.call(client))

    retried = status in (500, 502, 503, 504) and op_name not in ("claim", "register")
    retried = retried or (op_name == "claim" and status == 500)
    expected_calls = 2 if status == 401 else 4 if retried else 1
    if op_name == "register" and status == 500:
        expected_calls = 4
    assert route.call_count == expected_calls


def test_every_operation_is_in_the_table() -> None:
    assert {row[0] for row in TABLE} == set(OPS)


def test_claim_404_for_an_unknown_location_names_the_location(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.post(f"{LOC}/nodes").mock(
        return_value=plume_error(404, f"location {L} not found for customer {C}")
    )
    with pytest.raises(e.NotFoundError) as info:
        client.claim_node(C, L, S)
    assert info.value.hint.startswith(f"location {L} of customer {C} does not exist")


@pytest.mark.parametrize(
    ("message", "expected", "hint"),
    [
        pytest.param(
            "Claiming request exceeded numPodsAuthorized (32)",
            e.LicenseLimitError,
            f"location {L} has reached numPodsAuthorized=32; unclaim a node",
            id="license-limit",
        ),
        pytest.param(
            f"location {L} is in monitor mode; nodes cannot be claimed",
            e.UnprocessableEntityError,
            f"location {L} is in monitor mode",
            id="monitor-mode",
        ),
        pytest.param(
            "nickname must be at most 32 characters",
            e.UnprocessableEntityError,
            f"Plume rejected the nickname of node {S}",
            id="nickname-too-long",
        ),
        pytest.param(
            "serialNumber is longer than 64 characters",
            e.UnprocessableEntityError,
            f"Plume rejected serial number {S} as malformed",
            id="serial-too-long",
        ),
        pytest.param(
            "value too long for column",
            e.UnprocessableEntityError,
            f"Plume rejected a field of the claim of node {S}",
            id="unnamed-field",
        ),
        pytest.param(
            "the hamster wheel stopped",
            e.UnprocessableEntityError,
            f"Plume rejected the claim of node {S} at location {L} for the reason in its message",
            id="unknown-reason",
        ),
    ],
)
def test_claim_422_is_classified_by_plumes_message(
    client: PlumeClient, mock: respx.MockRouter, message: str, expected: type, hint: str
) -> None:
    mock.post(f"{LOC}/nodes").mock(return_value=plume_error(422, message))
    with pytest.raises(e.UnprocessableEntityError) as info:
        client.claim_node(C, L, S)
    err = info.value
    assert type(err) is expected
    assert err.hint.startswith(hint), err.hint
    assert message in str(err)
    if expected is not e.LicenseLimitError:
        assert "unclaim a node" not in str(err)
        assert "licenses" not in err.hint
