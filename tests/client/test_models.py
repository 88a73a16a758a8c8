"""Input rules of the seed, and tolerant parsing of Plume's answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from plume_provider.client.errors import InputValidationError
from plume_provider.client.models import (
    MAX_TEXT_LENGTH,
    Customer,
    CustomerRegistration,
    CustomerSearchResult,
    CustomerUpdate,
    Location,
    Node,
    NodeLookup,
    validate_serial_number,
)

BASE: dict[str, Any] = {"accountId": "ACME-1", "partnerId": "lab-partner"}


def test_registration_serialises_with_api_names() -> None:
    reg = CustomerRegistration(
        **BASE, name="Ada", email="ada@example.org", onboarding_checkpoint="PodsAdded"
    )
    assert reg.to_api() == {
        "accountId": "ACME-1",
        "partnerId": "lab-partner",
        "name": "Ada",
        "email": "ada@example.org",
        "profile": "auto",
        "acceptLanguage": "en-US",
        "onboardingCheckpoint": "PodsAdded",
    }
    assert CustomerRegistration(account_id="A", partner_id="p").account_id == "A"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("name", "Ada \u201cthe first\u201d", id="name-curly-quotes"),
        pytest.param("name", 'Ada "x"', id="name-ascii-quote"),
        pytest.param("accountId", "AC\u201dME", id="account-curly-quote"),
        pytest.param("accountId", 'AC"ME', id="account-ascii-quote"),
        pytest.param("accountId", "  ", id="account-blank"),
        pytest.param("email", "not-an-email", id="email-shape"),
        pytest.param("email", "a@b@c.org", id="email-two-at"),
        pytest.param("profile", "enterprise", id="profile"),
        pytest.param("onboardingCheckpoint", "Done", id="checkpoint"),
        pytest.param("acceptLanguage", "english", id="language-word"),
        pytest.param("acceptLanguage", "en_US", id="language-underscore"),
        pytest.param("partnerId", "", id="partner-empty"),
        pytest.param("surprise", "x", id="extra-field"),
    ],
)
def test_registration_rejects(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        CustomerRegistration(**{**BASE, field: value})
    err = InputValidationError.from_pydantic(info.value, subject="customer")
    assert [where for where, _ in err.errors] == [field]
    assert str(err).startswith(f"invalid customer: {field}: ")


def test_registration_requires_account_and_partner() -> None:
    with pytest.raises(ValidationError):
        CustomerRegistration(partnerId="p")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        CustomerRegistration(accountId="a")  # type: ignore[call-arg]


@pytest.mark.parametrize("language", ["en-US", "fr-CA", "de", "es-419"])
def test_accept_language_shapes(language: str) -> None:
    assert CustomerRegistration(**BASE, accept_language=language).accept_language == language


def test_email_kept_as_given() -> None:
    email = "Ada.Lovelace@Example.ORG"
    assert CustomerRegistration(**BASE, email=email).email == email


@given(st.text(min_size=1, max_size=MAX_TEXT_LENGTH).filter(lambda s: s.strip()))
def test_quotes_and_unprintable_text_rejected_the_rest_accepted(text: str) -> None:
    has_quote = any(q in text for q in ("\u201c", "\u201d", '"'))
    try:
        CustomerUpdate(name=text)
    except ValidationError:
        assert has_quote or not text.isprintable()
    else:
        assert not has_quote
        assert text.isprintable()


@given(st.text(min_size=1, max_size=MAX_TEXT_LENGTH).filter(lambda s: s.strip()))
def test_account_ids_are_name_rules_plus_what_the_search_path_can_carry(text: str) -> None:
    """An accountId is also a search path segment: '/', '\\', '.', '..' and null are out."""
    unsearchable = "/" in text or "\\" in text or text in (".", "..") or text.lower() == "null"
    try:
        CustomerUpdate(name=text)
    except ValidationError:
        name_ok = False
    else:
        name_ok = True
    try:
        CustomerUpdate(account_id=text)
    except ValidationError:
        assert not name_ok or unsearchable
    else:
        assert name_ok
        assert not unsearchable


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * (MAX_TEXT_LENGTH + 1), id="one-over-the-length-bound"),
        pytest.param("Ada \ud800 Lovelace", id="lone-surrogate"),
        pytest.param("Ada\nLovelace", id="newline"),
    ],
)
def test_names_and_account_ids_are_bounded_printable_text(text: str) -> None:
    for field in ("name", "account_id"):
        with pytest.raises(ValidationError, match=field):
            CustomerUpdate(**{field: text})


def test_update_uses_same_rules() -> None:
    with pytest.raises(ValidationError):
        CustomerUpdate(email="bad")
    assert CustomerUpdate(name="x").to_api() == {"name": "x"}


@pytest.mark.parametrize(
    "serial",
    ["", "   ", "A/B", " LAB", "LAB\t1", "LAB\x00", ".", "..", "../X", "X/..", "./", "%2E%2E"],
)
def test_bad_serials(serial: str) -> None:
    with pytest.raises(InputValidationError):
        validate_serial_number(serial)


@given(st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9])?", fullmatch=True))
def test_good_serials(serial: str) -> None:
    assert validate_serial_number(serial) == serial


def test_responses_tolerate_new_fields_and_odd_types() -> None:
    node = Node.model_validate(
        {
            "serialNumber": "S1",
            "_version": 3,
            "shardNumber": 7,
            "backhaulDhcpPoolIdx": 2,
            "macs": ["aa"],
            "brandNewField": {"x": 1},
        }
    )
    assert (node.version, node.shard_number, node.macs) == (3, 7, ["aa"])
    customer = Customer.model_validate({"id": "c", "emailVerified": True, "newThing": []})
    assert customer.email_verified is True
    location = Location.model_validate(
        {"id": "l", "serviceId": "s", "authorizations": {"numPodsAuthorized": 4, "other": 1}}
    )
    assert (location.service_id, location.num_pods_authorized) == ("s", 4)
    hit = CustomerSearchResult.model_validate({"id": "c", "locations": [{"id": "l1"}, {"x": 1}]})
    assert hit.location_ids == ["l1"]
    lookup = NodeLookup.model_validate({"serialNumber": "S1", "packId": None})
    assert lookup.customer_id is None


def test_models_accept_snake_case_too() -> None:
    assert Node(serial_number="S", radio_mac24="aa").radio_mac24 == "aa"
    assert Customer(id="c", location_id="l").location_id == "l"
