"""Every operation has a hint of its own wherever Plume's answer means something particular to it.

`PARTICULAR` is what docs/plume-api.md says Plume answers each call, beyond what every call can
get (401 for the token, 429 and the WAF's 403, 5xx), with 404 added for a call whose path names
an object, and without the answers the client turns into a result (see `hints.py` for the rule).
A new `Operation` fails here until its answers are written down; a pair of it with no hint of
its own, or a hint for a pair it does not list, fails too.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from plume_provider.client import PlumeClient, _client
from plume_provider.client._error_mapping import make_error
from plume_provider.client.hints import (
    CLAIM_LOCATION_GONE_HINT,
    CLAIM_REJECTED_HINTS,
    NO_OWN_HINT,
    OWN_HINTS,
    STATUS_HINTS,
    fill,
)
from plume_provider.client.models import CustomerRegistration, CustomerUpdate
from plume_provider.client.operations import Operation, OperationContext
from plume_provider.client.settings import PlumeSettings

PARTICULAR: dict[Operation, dict[int, str]] = {
    Operation.REGISTER_CUSTOMER: {
        400: "required field missing",
        403: "partnerId locked for new accounts",
        404: "partnerId unknown",
        409: "accountId+partnerId not unique",
        422: "bad email, email exists, invalid acceptLanguage, no partnerId in the token",
    },
    Operation.GET_CUSTOMER: {401: "also a customer unknown to this caller", 404: "gone"},
    Operation.UPDATE_CUSTOMER: {
        404: "the customer its path names is gone",
        409: "accountId already used for this partner",
        422: "validation",
    },
    Operation.DELETE_CUSTOMER: {},  # 404: already gone, returns False
    Operation.LIST_LOCATIONS: {404: "the customer is gone"},
    Operation.SET_ONBOARDING_CHECKPOINT: {404: "location unknown", 422: "illegal value"},
    Operation.FIND_CUSTOMERS_BY_ACCOUNT_ID: {  # 404: nothing matches, returns []
        403: "the partner may not search",
        422: "illegal field or keyword null",
    },
    Operation.CLAIM_NODE: {
        404: "serial not in inventory, or location unknown",
        409: "owned by another customer",
        422: "numPodsAuthorized, accountId not unique, monitor mode (told apart by message)",
        500: "inventory unreachable",
        503: "the claim took effect but a later step failed",
    },
    Operation.LIST_NODES: {404: "location unknown"},
    Operation.RENAME_NODE: {404: "node or location unknown"},
    Operation.UNCLAIM_NODE: {},  # 400 already unclaimed, 404: returns False
    Operation.LOOKUP_NODE: {403: "another partner's node", 404: "unknown serial"},
    Operation.FETCH_TOKEN: {},  # told apart by cause, not status
}

IDS = {
    "account_id": "ACME-1",
    "partner_id": "lab-partner",
    "customer_id": "cust-1",
    "location_id": "loc-1",
    "serial_number": "LAB-POD-0007",
    "node_id": "LAB-POD-0007",
}


def answer(status: int) -> httpx.Response:
    body = {"error": {"statusCode": status, "name": "", "message": ""}}
    return httpx.Response(status, json=body, request=httpx.Request("POST", "http://p/api/x"))


def test_every_operation_has_its_answers_written_down() -> None:
    assert set(PARTICULAR) == set(Operation)


def test_an_operation_has_hints_of_its_own_or_says_why_it_needs_none() -> None:
    needing_none = {operation for operation, answers in PARTICULAR.items() if not answers}
    assert set(NO_OWN_HINT) == needing_none
    assert all(NO_OWN_HINT.values())


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        pytest.param(operation, status, id=f"{operation}-{status}")
        for operation, answers in PARTICULAR.items()
        for status in answers
    ],
)
def test_each_particular_answer_gets_a_hint_of_its_own(operation: Operation, status: int) -> None:
    context = OperationContext(operation, f"{operation} x", IDS)
    err = make_error(answer(status), operation_context=context)
    assert err.hint
    assert err.hint != STATUS_HINTS.get(status), f"{operation} {status} has only the generic hint"
    assert "?" not in err.hint


def test_no_hint_answers_a_pair_plume_does_not_send() -> None:
    for operation, status in OWN_HINTS:
        assert status in PARTICULAR[operation], f"hint for {operation} {status}: not an answer"


@pytest.mark.parametrize(("operation", "status"), sorted(OWN_HINTS))
def test_an_own_hint_is_the_one_the_error_carries(operation: Operation, status: int) -> None:
    context = OperationContext(operation, f"{operation} x", IDS)
    err = make_error(answer(status), operation_context=context)
    assert err.hint == fill(OWN_HINTS[operation, status], IDS)


C, L, S = "cust-1", "loc-1", "LAB-POD-0007"
CALLS: dict[Operation, Callable[[PlumeClient], object]] = {
    Operation.REGISTER_CUSTOMER: lambda c: c.register_customer(
        CustomerRegistration(account_id="ACME-1", partner_id="lab-partner")
    ),
    Operation.GET_CUSTOMER: lambda c: c.get_customer(C),
    Operation.UPDATE_CUSTOMER: lambda c: c.update_customer(C, CustomerUpdate(account_id="A2")),
    Operation.DELETE_CUSTOMER: lambda c: c.delete_customer(C),
    Operation.LIST_LOCATIONS: lambda c: c.list_locations(C),
    Operation.SET_ONBOARDING_CHECKPOINT: lambda c: c.set_onboarding_checkpoint(C, L, "PodsAdded"),
    Operation.FIND_CUSTOMERS_BY_ACCOUNT_ID: lambda c: c.find_customers_by_account_id("ACME-1"),
    Operation.CLAIM_NODE: lambda c: c.claim_node(C, L, S),
    Operation.LIST_NODES: lambda c: c.list_nodes(C, L),
    Operation.RENAME_NODE: lambda c: c.rename_node(C, L, S, "hall"),
    Operation.UNCLAIM_NODE: lambda c: c.unclaim_node(C, L, S),
    Operation.LOOKUP_NODE: lambda c: c.lookup_node(S),
}


class Sent(Exception):
    def __init__(self, context: OperationContext) -> None:
        self.context = context


def test_each_api_operation_is_a_client_method_with_a_call_here() -> None:
    api_operations = set(Operation) - {Operation.FETCH_TOKEN}
    assert set(CALLS) == api_operations
    for operation in api_operations:
        assert callable(getattr(PlumeClient, operation.value, None)), operation


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_the_client_names_its_operation_and_every_id_its_hints_name(
    operation: Operation, settings: PlumeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def send_with_retries(*args: Any, context: OperationContext, **kwargs: Any) -> None:
        raise Sent(context)

    monkeypatch.setattr(_client, "send_with_retries", send_with_retries)
    with PlumeClient(settings) as client, pytest.raises(Sent) as sent:
        CALLS[operation](client)
    context = sent.value.context
    assert context.operation is operation
    templates = [template for (hinted, _), template in OWN_HINTS.items() if hinted is operation]
    if operation is Operation.CLAIM_NODE:
        templates += [*CLAIM_REJECTED_HINTS.values(), CLAIM_LOCATION_GONE_HINT]
    for template in templates:
        named = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert named - {"limit"} <= set(context.ids), f"{operation}: {template}"
