"""check and diff: pure logic, no API call (the provider has no usable credentials here)."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.base import PROVIDER_KEY, check_inputs

QUOTE_RULE = 'must not contain the quote characters \u201c \u201d or "'


@pytest.fixture(autouse=True)
def _partner_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_PARTNER_ID", "env-partner")
    # An unreachable API: a check or diff that called Plume would fail loudly.
    monkeypatch.setenv("PLUME_API_URL", "http://127.0.0.1:9/api")


def failures(result: Any) -> dict[str, str]:
    return {f.property: f.reason for f in result.failures}


# -- customer check --------------------------------------------------------------------------


def test_customer_check_fills_defaults_and_keeps_provider() -> None:
    result = CustomerProvider().check({}, {"accountId": "A-1", PROVIDER_KEY: "blob"})
    assert result.failures == []
    assert result.inputs == {
        "accountId": "A-1",
        "partnerId": "env-partner",
        "profile": "auto",
        "acceptLanguage": "en-US",
        PROVIDER_KEY: "blob",
    }


def test_customer_check_declared_values_win_over_defaults() -> None:
    news = {
        "accountId": "A-1",
        "partnerId": "p2",
        "profile": "smallbusiness",
        "acceptLanguage": "fr-FR",
        "onboardingCheckpoint": "PodsAdded",
        "adopt": True,
    }
    result = CustomerProvider().check({}, news)
    assert result.failures == []
    assert result.inputs == news


@pytest.mark.parametrize(
    ("prop", "value", "reason"),
    [
        ("accountId", 'A"1', QUOTE_RULE),
        ("accountId", "A\u201c1\u201d", QUOTE_RULE),
        ("accountId", "   ", "must not be empty"),
        ("name", "Alice \u201cAl\u201d A", QUOTE_RULE),
        ("email", "not-an-email", "is not a well-formed email address"),
        ("profile", "enterprise", "Input should be 'auto' or 'smallbusiness'"),
        ("acceptLanguage", "english", "must look like 'en-US' or 'en'"),
        ("onboardingCheckpoint", "Done", "Input should be 'PodsAdded' or 'OnboardingComplete'"),
        ("name", 42, "Input should be a valid string"),
        ("adopt", "yes", "must be true or false"),
    ],
)
def test_customer_check_one_failure_per_bad_field(prop: str, value: Any, reason: str) -> None:
    news = {"accountId": "A-1", "name": "Alice", prop: value}
    found = failures(CustomerProvider().check({}, news))
    assert list(found) == [prop]
    assert found[prop].startswith(reason)


def test_customer_check_reports_every_bad_field_at_once() -> None:
    news = {"accountId": 'A"1', "name": 'B"ob', "email": "x", "colour": "red"}
    found = failures(CustomerProvider().check({}, news))
    assert set(found) == {"accountId", "name", "email", "colour"}
    assert found["accountId"] == QUOTE_RULE
    assert found["colour"].startswith("unknown property")


def test_customer_check_requires_account_and_partner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLUME_PARTNER_ID")
    found = failures(CustomerProvider().check({}, {"name": "Alice"}))
    assert set(found) == {"accountId", "partnerId"}
    assert "plume:partnerId" in found["partnerId"]
    assert found["accountId"].startswith("required")


# The host hands check/diff `Unknown` objects; the wire form is the UNKNOWN string.
UNKNOWN_FORMS = [pytest.param(UNKNOWN, id="wire-string"), pytest.param(Unknown(), id="object")]


@pytest.mark.parametrize("unknown", UNKNOWN_FORMS)
def test_customer_check_accepts_unknowns_during_preview(unknown: Any) -> None:
    news = dict.fromkeys(("accountId", "partnerId", "name", "email", "profile"), unknown)
    news["adopt"] = unknown
    result = CustomerProvider().check({}, news)
    assert result.failures == []
    assert result.inputs["accountId"] is unknown
    assert result.inputs["acceptLanguage"] == "en-US"


# -- node check ------------------------------------------------------------------------------


def test_node_check_valid() -> None:
    news = {"customerId": "c", "locationId": "l", "serialNumber": "LAB-POD-0001", "nickname": "x"}
    result = NodeProvider().check({}, news)
    assert result.failures == []
    assert result.inputs == news


@pytest.mark.parametrize(
    ("prop", "value", "reason"),
    [
        ("serialNumber", "A/B", "serial number must not contain '/'"),
        ("serialNumber", " A", "serial number must not contain ' '"),
        ("serialNumber", "", "serial number must not be empty"),
        ("customerId", " ", "must not be empty"),
        ("locationId", 7, "Input should be a valid string"),
        ("nickname", ["x"], "Input should be a valid string"),
    ],
)
def test_node_check_failures(prop: str, value: Any, reason: str) -> None:
    news = {"customerId": "c", "locationId": "l", "serialNumber": "S1", prop: value}
    found = failures(NodeProvider().check({}, news))
    assert list(found) == [prop]
    assert found[prop].startswith(reason)


def test_node_check_required_and_unknown_properties() -> None:
    found = failures(NodeProvider().check({}, {"serial": "S1"}))
    assert set(found) == {"customerId", "locationId", "serialNumber", "serial"}


@pytest.mark.parametrize("unknown", UNKNOWN_FORMS)
def test_node_check_unknowns_pass(unknown: Any) -> None:
    news = {"customerId": unknown, "locationId": unknown, "serialNumber": unknown}
    assert NodeProvider().check({}, news).failures == []


@pytest.mark.parametrize("unknown", UNKNOWN_FORMS)
def test_unknown_new_values_are_changes(unknown: Any) -> None:
    customer = CustomerProvider().diff(
        "cid", dict(CUSTOMER_OUTS), {**CUSTOMER_NEWS, "email": unknown}
    )
    assert (customer.changes, customer.replaces) == (True, [])
    node = NodeProvider().diff("S", dict(NODE_OUTS), {**NODE_NEWS, "serialNumber": unknown})
    assert (node.changes, node.replaces) == (True, ["serialNumber"])


# -- diff tables -----------------------------------------------------------------------------

CUSTOMER_OUTS = {
    "customerId": "cid",
    "locationId": "lid",
    "accountId": "A-1",
    "partnerId": "env-partner",
    "name": "Alice",
    "email": "alice@example.org",
    "profile": "auto",
    "acceptLanguage": "en-US",
    "onboardingCheckpoint": "PodsAdded",
    "createdAt": "2024-01-01T00:00:00Z",
    PROVIDER_KEY: "old-blob",
}
CUSTOMER_NEWS = {
    "accountId": "A-1",
    "partnerId": "env-partner",
    "name": "Alice",
    "email": "alice@example.org",
    "profile": "auto",
    "acceptLanguage": "en-US",
    "onboardingCheckpoint": "PodsAdded",
    PROVIDER_KEY: "new-blob",
}


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"partnerId": "other"}, ["partnerId"]),
        ({"profile": "smallbusiness"}, ["profile"]),
        ({"acceptLanguage": "fr-FR"}, ["acceptLanguage"]),
        ({"name": "Alicia"}, []),
        ({"email": "new@example.org"}, []),
        ({"accountId": "A-2"}, []),
        ({"onboardingCheckpoint": "OnboardingComplete"}, []),
        ({"name": UNKNOWN}, []),
        ({"profile": UNKNOWN}, ["profile"]),
        ({"partnerId": "other", "name": "Alicia"}, ["partnerId"]),
    ],
)
def test_customer_diff_table(change: dict[str, Any], replaces: list[str]) -> None:
    result = CustomerProvider().diff("cid", dict(CUSTOMER_OUTS), {**CUSTOMER_NEWS, **change})
    assert result.changes is True
    assert result.replaces == replaces
    if replaces:
        assert result.delete_before_replace is True
    else:
        assert not result.delete_before_replace
        assert result.stables is not None
        assert "customerId" in result.stables


@pytest.mark.parametrize(
    "news",
    [
        pytest.param(dict(CUSTOMER_NEWS), id="same"),
        pytest.param(dict(reversed(list(CUSTOMER_NEWS.items()))), id="key-order"),
        pytest.param(
            {k: v for k, v in CUSTOMER_NEWS.items() if k not in ("profile", "acceptLanguage")},
            id="defaults-left-out",
        ),
        pytest.param(
            {k: v for k, v in CUSTOMER_NEWS.items() if k != "partnerId"}, id="partner-from-settings"
        ),
        pytest.param({**CUSTOMER_NEWS, "adopt": True}, id="adopt-flag"),
        pytest.param({**CUSTOMER_NEWS, PROVIDER_KEY: "re-pickled"}, id="re-pickled-provider"),
        pytest.param({**CUSTOMER_NEWS, "email": "Alice@Example.org"}, id="email-case"),
        pytest.param(
            {k: v for k, v in CUSTOMER_NEWS.items() if k not in ("email", "name")},
            id="optional-left-out",
        ),
    ],
)
def test_customer_diff_no_change(news: dict[str, Any]) -> None:
    result = CustomerProvider().diff("cid", dict(CUSTOMER_OUTS), news)
    assert result.changes is False
    assert result.replaces == []


def test_customer_diff_old_state_without_defaults_is_stable() -> None:
    olds = {k: v for k, v in CUSTOMER_OUTS.items() if k not in ("profile", "acceptLanguage")}
    assert CustomerProvider().diff("cid", olds, dict(CUSTOMER_NEWS)).changes is False


NODE_OUTS = {
    "customerId": "cid",
    "locationId": "lid",
    "serialNumber": "LAB-POD-0001",
    "nodeId": "LAB-POD-0001",
    "nickname": "Kitchen",
    "residentialGateway": False,
    "macs": ["aa:bb"],
    PROVIDER_KEY: "old-blob",
}
NODE_NEWS = {
    "customerId": "cid",
    "locationId": "lid",
    "serialNumber": "LAB-POD-0001",
    "nickname": "Kitchen",
    PROVIDER_KEY: "new-blob",
}


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"customerId": "c2"}, ["customerId"]),
        ({"locationId": "l2"}, ["locationId"]),
        ({"serialNumber": "LAB-POD-0002"}, ["serialNumber"]),
        ({"locationId": UNKNOWN}, ["locationId"]),
        ({"nickname": "Hall"}, []),
        ({"nickname": UNKNOWN}, []),
    ],
)
def test_node_diff_table(change: dict[str, Any], replaces: list[str]) -> None:
    result = NodeProvider().diff("LAB-POD-0001", dict(NODE_OUTS), {**NODE_NEWS, **change})
    assert result.changes is True
    assert result.replaces == replaces
    assert bool(result.delete_before_replace) == bool(replaces)


@pytest.mark.parametrize(
    "news",
    [
        pytest.param(dict(NODE_NEWS), id="same"),
        pytest.param(dict(reversed(list(NODE_NEWS.items()))), id="key-order"),
        pytest.param({k: v for k, v in NODE_NEWS.items() if k != "nickname"}, id="no-nickname"),
        pytest.param({**NODE_NEWS, PROVIDER_KEY: "re-pickled"}, id="re-pickled-provider"),
    ],
)
def test_node_diff_no_change(news: dict[str, Any]) -> None:
    result = NodeProvider().diff("LAB-POD-0001", dict(NODE_OUTS), news)
    assert result.changes is False
    assert set(result.stables or ()) == {"serialNumber", "nodeId", "customerId", "locationId"}


# -- the one check algorithm both providers use ----------------------------------------------


class _Pair(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid")

    left_id: Annotated[str, Field(max_length=3)]
    right_id: Annotated[str, Field(max_length=3)]
    note: str | None = None


def _check_pair(inputs: dict[str, Any]) -> dict[str, str]:
    found = check_inputs(
        inputs,
        accepted=("leftId", "rightId", "note", "flag"),
        rules=_Pair,
        validated=("leftId", "rightId", "note"),
        required={"leftId": "declare the left id", "rightId": ""},
    )
    return {f.property: f.reason for f in found}


def test_check_inputs_reports_unknown_missing_and_invalid_properties_together() -> None:
    assert _check_pair({"leftId": "toolong", "extra": 1, PROVIDER_KEY: "blob", "flag": 1}) == {
        "extra": "unknown property; expected one of leftId, rightId, note, flag",
        "rightId": "required",
        "leftId": "String should have at most 3 characters",
    }
    assert _check_pair({})["leftId"] == "required: declare the left id"


def test_check_inputs_lets_unknown_values_pass_and_still_checks_the_known_ones() -> None:
    assert _check_pair({"leftId": Unknown(), "rightId": UNKNOWN}) == {}
    assert _check_pair({"leftId": Unknown(), "rightId": "abcd"}) == {
        "rightId": "String should have at most 3 characters"
    }
