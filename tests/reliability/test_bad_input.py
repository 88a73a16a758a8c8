"""Bad input sweep: broken fleets and provider inputs fail before any API call, naming the field.

Two doors, one rule:

* the stack config (`plume-fleet:customers`) through the engine double running the real
  program: the `up` fails with a program error naming the field's path, and the emulator
  counted zero `/api` calls (and issued no token);
* a resource's inputs through the real provider host's `Check`: a `CheckFailure` for the
  offending property, and zero `/api` calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from plume_emulator.testing import EmulatorServer
from plume_provider.resources.customer import CustomerProvider
from plume_provider.resources.node import NodeProvider
from plume_testkit.enginedouble.engine import EngineDouble
from plume_testkit.enginedouble.host import ProviderHost
from plume_testkit.enginedouble.wire import PROVIDER_KEY
from plume_testkit.fleets import provider_config
from tests.reliability.conftest import api_calls

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "__main__.py"
CUSTOMER_URN = "urn:pulumi:dev::plume-fleet::pulumi-python:dynamic/plume:Customer::customer-bad"
NODE_URN = "urn:pulumi:dev::plume-fleet::pulumi-python:dynamic/plume:Node::node-bad"
TEN_KB = "x" * 10_240


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, ProviderHost]]:
    workdir = tmp_path_factory.mktemp("bad-input")
    with EmulatorServer(workdir / "plume.sqlite", waf_limit=0) as emulator, ProviderHost() as host:
        yield emulator, host


def _customer(**fields: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "accountId": "BAD-0001",
        "name": "Bad Input",
        "nodes": [{"serialNumber": "LAB-GW-0001", "nickname": "gateway"}],
    }
    customer.update(fields)
    return customer


def _node(**fields: Any) -> dict[str, Any]:
    return {"serialNumber": "LAB-POD-0001", **fields}


# (id, customers value as Pulumi hands it over (JSON text), the field path the error must name)
CONFIG_CASES: list[Any] = [
    pytest.param(
        [_customer(nodes=[_node(serialNumber="")])],
        "customers[0].nodes[0].serialNumber",
        id="empty-serial",
    ),
    pytest.param(
        [_customer(nodes=[_node(serialNumber="LAB/POD-0001")])],
        "customers[0].nodes[0].serialNumber",
        id="serial-with-slash",
    ),
    pytest.param(
        [_customer(name="Ada \u201cCountess\u201d Lovelace")],
        "customers[0].name",
        id="curly-quotes-in-name",
    ),
    pytest.param([_customer(accountId='ACCT"1')], "customers[0].accountId", id="quote-in-account"),
    pytest.param([_customer(name=TEN_KB)], "customers[0].name", id="10kb-name"),
    pytest.param(
        [_customer(nodes=[_node(nickname=TEN_KB)])],
        "customers[0].nodes[0].nickname",
        id="10kb-nickname",
    ),
    pytest.param(
        [_customer(name="Ada \ud800 Lovelace")],
        "customers[0].name",
        id="lone-surrogate-in-name",
    ),
    pytest.param(
        [_customer(nodes=[_node(serialNumber="LAB-\udc00")])],
        "customers[0].nodes[0].serialNumber",
        id="lone-surrogate-in-serial",
    ),
    pytest.param([_customer(accountId=12345)], "customers[0].accountId", id="account-is-number"),
    pytest.param([_customer(nodes="LAB-GW-0001")], "customers[0].nodes", id="nodes-is-string"),
    pytest.param([_customer(adopt="yes")], "customers[0].adopt", id="adopt-is-string"),
    pytest.param({"accountId": "BAD-0001"}, "customers", id="customers-is-object"),
    pytest.param("not json at all", "customers", id="customers-not-json"),
    pytest.param([_customer(colour="blue")], "customers[0].colour", id="unknown-customer-key"),
    pytest.param(
        [_customer(nodes=[{"serial": "LAB-GW-0001"}])],
        "customers[0].nodes[0].serial",
        id="unknown-node-key",
    ),
    pytest.param([_customer(accountId=None)], "customers[0].accountId", id="missing-account"),
    pytest.param([_customer(email="not-an-email")], "customers[0].email", id="bad-email"),
    pytest.param([_customer(profile="enterprise")], "customers[0].profile", id="bad-profile"),
    pytest.param(
        [_customer(acceptLanguage="english")], "customers[0].acceptLanguage", id="bad-language"
    ),
    pytest.param(
        [_customer(onboardingCheckpoint="Done")],
        "customers[0].onboardingCheckpoint",
        id="bad-checkpoint",
    ),
    pytest.param(
        [
            _customer(),
            _customer(accountId="BAD-0002", nodes=[_node(serialNumber="LAB-GW-0001")]),
        ],
        "customers[1].nodes[0].serialNumber",
        id="duplicate-serial",
    ),
    pytest.param(
        [_customer(), _customer(nodes=[_node()])],
        "customers[1].accountId",
        id="duplicate-account",
    ),
    pytest.param(
        [_customer(nodes=[_node(serialNumber="..")])],
        "customers[0].nodes[0].serialNumber",
        id="dotdot-serial",
    ),
    pytest.param([_customer(accountId="..")], "customers[0].accountId", id="dotdot-account"),
    pytest.param([_customer(accountId="CRM/42")], "customers[0].accountId", id="slash-in-account"),
    pytest.param(
        '[{"accountId": "BAD-0001", "name": ' + "9" * 5000 + "}]",
        "customers[0].name",
        id="5000-digit-number",
    ),
]


@pytest.mark.parametrize(("customers", "field"), CONFIG_CASES)
def test_broken_fleet_fails_before_any_call_naming_the_field(
    lab: tuple[EmulatorServer, ProviderHost], tmp_path: Path, customers: Any, field: str
) -> None:
    emulator, host = lab
    emulator.reset_stats()
    text = customers if isinstance(customers, str) else json.dumps(customers)
    config = {
        **provider_config(emulator.api_url, emulator.token_url),
        "plume-fleet:customers": text,
    }
    engine = EngineDouble(PROGRAM, config, tmp_path / "state.json", host=host)
    result = engine.up(raise_on_error=False)

    assert [e.op for e in result.errors] == ["program"], result.errors
    message = result.errors[0].message
    assert f"{field}:" in message, message
    assert result.mutating_calls == []
    stats = emulator.stats()
    assert api_calls(stats) == 0, stats
    assert stats["tokens_issued"] == 0


def test_a_typo_in_a_top_level_fleet_key_fails_the_program_naming_it(
    lab: tuple[EmulatorServer, ProviderHost], tmp_path: Path
) -> None:
    emulator, host = lab
    emulator.reset_stats()
    config = {
        **provider_config(emulator.api_url, emulator.token_url),
        "plume-fleet:customers": json.dumps([_customer()]),
        "plume-fleet:retainOnDelte": "true",
    }
    engine = EngineDouble(PROGRAM, config, tmp_path / "state.json", host=host)
    result = engine.up(raise_on_error=False)

    assert [e.op for e in result.errors] == ["program"], result.errors
    assert (
        "unknown key 'retainOnDelte' (did you mean 'retainOnDelete'?)" in result.errors[0].message
    )
    assert api_calls(emulator.stats()) == 0


# (urn, inputs without __provider, the property the CheckFailure must name)
CHECK_CASES: list[Any] = [
    pytest.param(NODE_URN, {"serialNumber": ""}, "serialNumber", id="node-empty-serial"),
    pytest.param(
        NODE_URN, {"serialNumber": "LAB/POD-0001"}, "serialNumber", id="node-serial-with-slash"
    ),
    pytest.param(NODE_URN, {"serialNumber": 1234}, "serialNumber", id="node-serial-is-number"),
    pytest.param(NODE_URN, {"customerId": ""}, "customerId", id="node-empty-customer"),
    pytest.param(NODE_URN, {"serial": "LAB-POD-0001"}, "serial", id="node-unknown-key"),
    pytest.param(
        CUSTOMER_URN, {"name": "Ada \u201cCountess\u201d"}, "name", id="customer-curly-quotes"
    ),
    pytest.param(CUSTOMER_URN, {"accountId": 'ACCT"1'}, "accountId", id="customer-ascii-quote"),
    pytest.param(
        CUSTOMER_URN,
        {"name": TEN_KB},
        "name",
        id="customer-10kb-name",
    ),
    pytest.param(CUSTOMER_URN, {"accountId": 12345}, "accountId", id="customer-account-number"),
    pytest.param(CUSTOMER_URN, {"accountId": None}, "accountId", id="customer-missing-account"),
    pytest.param(CUSTOMER_URN, {"adopt": "yes"}, "adopt", id="customer-adopt-string"),
    pytest.param(CUSTOMER_URN, {"colour": "blue"}, "colour", id="customer-unknown-key"),
    pytest.param(CUSTOMER_URN, {"email": "not-an-email"}, "email", id="customer-bad-email"),
    pytest.param(CUSTOMER_URN, {"profile": "enterprise"}, "profile", id="customer-bad-profile"),
    pytest.param(NODE_URN, {"serialNumber": ".."}, "serialNumber", id="node-dotdot-serial"),
    pytest.param(NODE_URN, {"locationId": ".."}, "locationId", id="node-dotdot-location"),
    pytest.param(NODE_URN, {"customerId": "c/../x"}, "customerId", id="node-customer-with-slash"),
    pytest.param(CUSTOMER_URN, {"accountId": "null"}, "accountId", id="customer-null-account"),
    pytest.param(CUSTOMER_URN, {"accountId": "A\\B"}, "accountId", id="customer-backslash"),
]

_VALID = {
    NODE_URN: {"customerId": "c-1", "locationId": "l-1", "serialNumber": "LAB-POD-0001"},
    CUSTOMER_URN: {"accountId": "BAD-0001", "name": "Bad Input"},
}


@pytest.fixture(scope="module")
def provider_blobs(lab: tuple[EmulatorServer, ProviderHost]) -> dict[str, str]:
    emulator, host = lab
    host.configure(provider_config(emulator.api_url, emulator.token_url))
    return {
        CUSTOMER_URN: serialize_provider(CustomerProvider()),
        NODE_URN: serialize_provider(NodeProvider()),
    }


@pytest.mark.parametrize("urn", [CUSTOMER_URN, NODE_URN], ids=["customer", "node"])
def test_valid_inputs_pass_check(
    lab: tuple[EmulatorServer, ProviderHost], provider_blobs: dict[str, str], urn: str
) -> None:
    # The control case: the failures below come from the broken field, not from the base.
    _, host = lab
    outcome = host.check(urn, {}, {**_VALID[urn], PROVIDER_KEY: provider_blobs[urn]})
    assert outcome.failures == []


@pytest.mark.parametrize(("urn", "inputs", "prop"), CHECK_CASES)
def test_bad_provider_inputs_fail_check_naming_the_property(
    lab: tuple[EmulatorServer, ProviderHost],
    provider_blobs: dict[str, str],
    urn: str,
    inputs: dict[str, Any],
    prop: str,
) -> None:
    emulator, host = lab
    emulator.reset_stats()
    news = {**_VALID[urn], **inputs, PROVIDER_KEY: provider_blobs[urn]}
    news = {key: value for key, value in news.items() if value is not None}

    outcome = host.check(urn, {}, news)

    assert prop in [failure.property for failure in outcome.failures], outcome.failures
    assert api_calls(emulator.stats()) == 0
