"""The register recovery's judgement as a table: one row per reason it refuses a found customer.

`not_created_by` is pure (no HTTP): each row is a customer found by accountId after a lost
register answer, and the reason it cannot be this run's (or none: it is taken as this run's).
"""

from __future__ import annotations

from typing import Any

import pytest

from plume_provider.client._recovery import iso, not_created_by
from plume_provider.client.models import Customer, CustomerRegistration, Location

STARTED = 1_800_000_000.0
CREATED = iso(STARTED + 1)
TOLERANCE = 5.0

REGISTRATION = CustomerRegistration(
    account_id="ACME-1",
    partner_id="lab-partner",
    name="Ada Lovelace",
    email="ada@example.org",
    profile="auto",
    accept_language="en-US",
    onboarding_checkpoint="PodsAdded",
)
LIVE: dict[str, Any] = {
    "id": "c1",
    "accountId": "ACME-1",
    "partnerId": "lab-partner",
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "acceptLanguage": "en-US",
    "createdAt": CREATED,
}
LOCATION: dict[str, Any] = {
    "id": "l1",
    "profile": "auto",
    "onboardingCheckpoint": {"value": "PodsAdded"},
}
BARE = CustomerRegistration(account_id="ACME-1", partner_id="lab-partner")


def reasons(
    customer: dict[str, Any] | None = None,
    location: dict[str, Any] | None = None,
    registration: CustomerRegistration = REGISTRATION,
) -> list[str]:
    return not_created_by(
        registration,
        Customer.model_validate({**LIVE, **(customer or {})}),
        Location.model_validate({**LOCATION, **(location or {})}),
        STARTED,
        TOLERANCE,
    )


@pytest.mark.parametrize(
    ("customer", "location", "registration", "reason"),
    [
        pytest.param(
            {"createdAt": None}, None, REGISTRATION, "Plume gave no createdAt", id="no-createdAt"
        ),
        pytest.param(
            {"createdAt": iso(STARTED - 60)},
            None,
            REGISTRATION,
            "before this run's first register",
            id="created-before-the-first-attempt",
        ),
        pytest.param(
            {"partnerId": "other"},
            None,
            REGISTRATION,
            "it belongs to partner other",
            id="other-partner",
        ),
        pytest.param(
            {"name": "Grace Hopper"},
            None,
            REGISTRATION,
            "its name is 'Grace Hopper'",
            id="other-name",
        ),
        pytest.param(
            {"name": None}, None, REGISTRATION, "its name is None", id="no-name-declared-one"
        ),
        pytest.param(
            {"name": "Grace", "email": "null+x@plume.com"},
            None,
            BARE,
            "it has the name Grace, and this run declared none",
            id="name-undeclared",
        ),
        pytest.param(
            {"email": "grace@example.org"},
            None,
            REGISTRATION,
            "its email is grace@example.org",
            id="other-email",
        ),
        pytest.param(
            {"name": None, "email": "grace@example.org"},
            None,
            BARE,
            "it has the email grace@example.org, and this run declared none",
            id="real-email-undeclared",
        ),
        pytest.param(
            {"acceptLanguage": "fr-CA"},
            None,
            REGISTRATION,
            "its acceptLanguage is fr-CA",
            id="other-language",
        ),
        pytest.param(
            None,
            {"profile": "smallbusiness"},
            REGISTRATION,
            "its location's profile is smallbusiness",
            id="other-profile",
        ),
        pytest.param(
            None,
            {"onboardingCheckpoint": {"value": "OnboardingComplete"}},
            REGISTRATION,
            "its onboarding checkpoint is OnboardingComplete",
            id="other-checkpoint",
        ),
    ],
)
def test_a_found_customer_is_refused_for(
    customer: dict[str, Any] | None,
    location: dict[str, Any] | None,
    registration: CustomerRegistration,
    reason: str,
) -> None:
    found = reasons(customer, location, registration)
    assert len(found) == 1, found
    assert reason in found[0]


@pytest.mark.parametrize(
    ("customer", "location", "registration"),
    [
        pytest.param(None, None, REGISTRATION, id="every-field-as-declared"),
        pytest.param(
            {"email": "ADA@Example.org "}, None, REGISTRATION, id="email-differing-in-case"
        ),
        pytest.param(
            {"name": "Ada Lovelace "}, None, REGISTRATION, id="name-with-a-trailing-blank"
        ),
        pytest.param(
            {"acceptLanguage": "en-us"}, None, REGISTRATION, id="language-differing-in-case"
        ),
        pytest.param(
            {"name": None, "email": "null+ab12@plume.com"}, None, BARE, id="plume-filled-undeclared"
        ),
        pytest.param(
            {"partnerId": None, "acceptLanguage": None},
            {"profile": None},
            REGISTRATION,
            id="not-reported",
        ),
        pytest.param(
            {"createdAt": iso(STARTED - 4)}, None, REGISTRATION, id="created-within-the-tolerance"
        ),
    ],
)
def test_a_found_customer_is_this_runs_when(
    customer: dict[str, Any] | None,
    location: dict[str, Any] | None,
    registration: CustomerRegistration,
) -> None:
    assert reasons(customer, location, registration) == []
