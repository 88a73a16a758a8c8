"""The providers through the real dynamic-provider host (`python -m pulumi.dynamic`) over gRPC.

The `__provider` value is what `PlumeCustomer` / `PlumeNode` put into the state; credentials
reach the host only through Configure (the test process has no PLUME_* variable).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_testkit.enginedouble.host import ProviderError, ProviderHost
from plume_testkit.enginedouble.wire import PROVIDER_KEY, UNKNOWN

CUSTOMER_URN = "urn:pulumi:lab::plume-fleet::pulumi-python:dynamic/plume:Customer::alice"
NODE_URN = "urn:pulumi:lab::plume-fleet::pulumi-python:dynamic/plume:Node::alice-gw"
CUSTOMER_BLOB = serialize_provider(CustomerProvider())
NODE_BLOB = serialize_provider(NodeProvider())


@pytest.fixture
def host(config: dict[str, str]) -> Iterator[ProviderHost]:
    assert not any(key.startswith("PLUME_") for key in os.environ)
    with ProviderHost() as running:
        running.configure(config)
        yield running


def test_lifecycle_over_grpc(
    host: ProviderHost,
    emulator: EmulatorServer,
    lab_credentials: LabCredentials,
    account_id: Callable[[], str],
) -> None:
    account = account_id()
    news = {"accountId": account, "name": "Alice", PROVIDER_KEY: CUSTOMER_BLOB}
    checked = host.check(CUSTOMER_URN, {}, news)
    assert checked.failures == []
    # Defaults were filled in the host, the partner from the Configure'd stack config.
    assert checked.inputs["partnerId"] == "lab-partner"
    assert checked.inputs["profile"] == "auto"

    customer_id, outs = host.create(CUSTOMER_URN, checked.inputs)
    assert outs["customerId"] == customer_id
    assert outs[PROVIDER_KEY] == CUSTOMER_BLOB
    assert [c["id"] for c in emulator.state()["partners"]["lab-partner"]["customers"]] == [
        customer_id
    ]

    node_news = {
        "customerId": customer_id,
        "locationId": outs["locationId"],
        "serialNumber": "LAB-GW-0001",
        "nickname": "Gateway",
        PROVIDER_KEY: NODE_BLOB,
    }
    node_checked = host.check(NODE_URN, {}, node_news)
    assert node_checked.failures == []
    serial, node_outs = host.create(NODE_URN, node_checked.inputs)
    assert serial == "LAB-GW-0001"
    assert node_outs["residentialGateway"] is True

    # A later `up` with the same code: no change; a rename: update in place.
    same = host.diff(NODE_URN, serial, node_outs, node_checked.inputs)
    assert same.changes is False
    renamed = {**node_checked.inputs, "nickname": "Hall"}
    diff = host.diff(NODE_URN, serial, node_outs, renamed)
    assert (diff.changes, diff.replaces) == (True, [])
    node_outs = host.update(NODE_URN, serial, node_outs, renamed)
    assert node_outs["nickname"] == "Hall"
    moved = host.diff(NODE_URN, serial, node_outs, {**renamed, "locationId": "elsewhere"})
    assert moved.replaces == ["locationId"]
    assert moved.delete_before_replace is True

    # Customer: rename in place, refresh reads it back.
    renamed_customer = {**checked.inputs, "name": "Alice B"}
    assert host.diff(CUSTOMER_URN, customer_id, outs, renamed_customer).changes is True
    outs = host.update(CUSTOMER_URN, customer_id, outs, renamed_customer)
    assert outs["name"] == "Alice B"
    read = host.read(CUSTOMER_URN, customer_id, outs)
    assert read.id == customer_id
    assert read.outs["name"] == "Alice B"
    assert read.inputs is not None
    assert read.inputs["name"] == "Alice B"

    # Outputs in the state never carry a credential.
    state_text = json.dumps([outs, node_outs, read.outs])
    for secret in (
        lab_credentials.client_secret,
        lab_credentials.auth_header,
        lab_credentials.auth_header.removeprefix("Basic "),
    ):
        assert secret not in state_text
        assert secret not in base64.b64decode(CUSTOMER_BLOB).decode("latin-1")

    host.delete(NODE_URN, serial, node_outs)
    host.delete(CUSTOMER_URN, customer_id, outs)
    state = emulator.state()["partners"]["lab-partner"]
    assert state["customers"] == []
    assert state["licenses_in_use"] == 0
    assert host.read(CUSTOMER_URN, customer_id, outs).id == ""


def test_import_over_grpc_reads_from_inputs(
    host: ProviderHost, account_id: Callable[[], str]
) -> None:
    inputs: dict[str, Any] = {"accountId": account_id(), PROVIDER_KEY: CUSTOMER_BLOB}
    customer_id, _ = host.create(CUSTOMER_URN, host.check(CUSTOMER_URN, {}, inputs).inputs)
    # `pulumi import` / `import_=`: no saved outputs, only the program's inputs.
    read = host.read(CUSTOMER_URN, customer_id, None, inputs=inputs)
    assert read.id == customer_id
    assert read.outs["customerId"] == customer_id
    assert read.inputs is not None
    assert read.inputs["accountId"] == inputs["accountId"]
    assert read.inputs[PROVIDER_KEY] == CUSTOMER_BLOB


def test_check_failures_and_unknowns_over_grpc(host: ProviderHost) -> None:
    bad = host.check(
        CUSTOMER_URN, {}, {"accountId": 'A"1', "email": "nope", PROVIDER_KEY: CUSTOMER_BLOB}
    )
    reasons = {f.property: f.reason for f in bad.failures}
    assert set(reasons) == {"accountId", "email"}
    assert reasons["accountId"] == 'must not contain the quote characters \u201c \u201d or "'
    preview = host.check(
        NODE_URN,
        {},
        {
            "customerId": UNKNOWN,
            "locationId": UNKNOWN,
            "serialNumber": "S",
            PROVIDER_KEY: NODE_BLOB,
        },
    )
    assert preview.failures == []
    diff = host.diff(
        NODE_URN,
        "S",
        {"customerId": "c", "locationId": "l", "serialNumber": "S"},
        {**preview.inputs},
    )
    assert diff.replaces == ["customerId", "locationId"]


def test_errors_reach_the_engine_with_their_message(
    host: ProviderHost, account_id: Callable[[], str]
) -> None:
    inputs = host.check(
        CUSTOMER_URN, {}, {"accountId": account_id(), PROVIDER_KEY: CUSTOMER_BLOB}
    ).inputs
    host.create(CUSTOMER_URN, inputs)
    with pytest.raises(ProviderError) as caught:
        host.create(CUSTOMER_URN, inputs)
    assert caught.value.exception_type is not None
    assert caught.value.exception_type.endswith("ConflictError")
    assert "adopt: true" in caught.value.message
    assert "already exists" in caught.value.message


def test_host_without_credentials_fails_clearly(
    emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    with ProviderHost() as bare:
        bare.configure({"plume:apiUrl": emulator.api_url, "plume:requestsPerSecond": "0"})
        inputs = {"accountId": account_id(), "partnerId": "lab-partner"}
        with pytest.raises(ProviderError) as caught:
            bare.create(CUSTOMER_URN, {**inputs, PROVIDER_KEY: CUSTOMER_BLOB})
    assert caught.value.exception_type is not None
    assert caught.value.exception_type.endswith("ConfigurationError")
    assert "PLUME_AUTH_HEADER" in caught.value.message
