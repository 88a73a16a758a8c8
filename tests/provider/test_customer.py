"""CustomerProvider called directly against the emulator over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import PlumeClient
from plume_provider.client.errors import (
    ConflictError,
    PartnerLockedError,
    UnprocessableEntityError,
)
from plume_provider.client.models import CustomerRegistration, CustomerUpdate
from plume_provider.resources import CustomerProvider
from plume_provider.resources.base import PlumeResourceError

from .conftest import calls, configure, customer_props, stack_config

PATCH = ("PATCH", "/api/Customers/{customerId}")
CHECKPOINT = (
    "POST",
    "/api/Customers/{customerId}/locations/{locationId}/onboardingCheckpoint",
)
REGISTER = ("POST", "/api/Customers/register")


def lab_customers(emulator: EmulatorServer) -> list[dict[str, Any]]:
    customers: list[dict[str, Any]] = emulator.state()["partners"]["lab-partner"]["customers"]
    return customers


def test_full_lifecycle(
    customers: CustomerProvider, emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    account = account_id()
    props = customer_props(account, email="alice@example.org", onboardingCheckpoint="PodsAdded")
    created = customers.create(props)
    outs = created.outs or {}
    assert created.id == outs["customerId"]
    assert outs["locationId"]
    assert outs["createdAt"]
    for key in ("accountId", "partnerId", "name", "email", "profile", "acceptLanguage"):
        assert outs[key] == props[key]
    assert outs["onboardingCheckpoint"] == "PodsAdded"
    [live] = lab_customers(emulator)
    assert (live["id"], live["accountId"], live["name"]) == (created.id, account, "Alice Example")

    read = customers.read(created.id, outs)
    assert read.id == created.id
    assert read.outs == outs
    assert read.inputs is not None
    assert read.inputs["accountId"] == account

    # Nothing changed: no call at all.
    emulator.reset_stats()
    diff = customers.diff(created.id, outs, props)
    assert diff.changes is False
    same = customers.update(created.id, outs, props)
    assert same.outs == outs
    assert calls(emulator) == {}

    # name + email: one PATCH; checkpoint: one call.
    news = {
        **props,
        "name": "Alice Renamed",
        "email": "alice2@example.org",
        "onboardingCheckpoint": "OnboardingComplete",
    }
    assert customers.diff(created.id, outs, news).changes is True
    updated = customers.update(created.id, outs, news).outs or {}
    assert calls(emulator) == {PATCH: 1, CHECKPOINT: 1}
    assert updated["name"] == "Alice Renamed"
    assert updated["email"] == "alice2@example.org"
    assert updated["onboardingCheckpoint"] == "OnboardingComplete"
    assert updated["customerId"] == created.id
    assert updated["locationId"] == outs["locationId"]
    assert lab_customers(emulator)[0]["name"] == "Alice Renamed"
    assert customers.diff(created.id, updated, news).changes is False

    customers.delete(created.id, updated)
    assert lab_customers(emulator) == []
    customers.delete(created.id, updated)  # already gone: success
    assert customers.read(created.id, updated).id == ""


def test_update_account_id_is_one_patch(
    customers: CustomerProvider, emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    props = customer_props(account_id())
    outs = customers.create(props).outs or {}
    emulator.reset_stats()
    news = {**props, "accountId": account_id()}
    updated = customers.update(outs["customerId"], outs, news).outs or {}
    assert calls(emulator) == {PATCH: 1}
    assert updated["accountId"] == news["accountId"]


def test_duplicate_account_without_adopt_fails_clearly(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    props = customer_props(account_id())
    first = customers.create(props)
    with pytest.raises(ConflictError) as caught:
        customers.create(props)
    message = str(caught.value)
    assert props["accountId"] in message
    assert "already exists" in message
    assert "adopt: true" in message
    assert f'import_id="{first.id}"' in message
    assert f"importId: {first.id}" in message


def test_create_after_a_transient_500_never_takes_over_an_existing_household(
    customers: CustomerProvider,
    emulator: EmulatorServer,
    plume: PlumeClient,
    account_id: Callable[[], str],
) -> None:
    """`pulumi up` declares an accountId a real household already has; its first register
    answers a 500 that did not take effect. The household is named, not returned as created."""
    account = account_id()
    household = plume.register_customer(
        CustomerRegistration(
            account_id=account, partner_id="lab-partner", name="Real Household", email="r@h.org"
        )
    )
    emulator.set_faults([{"method": "POST", "path": REGISTER[1], "status": 500, "times": 1}])
    emulator.reset_stats()
    with pytest.raises(ConflictError) as caught:
        customers.create(customer_props(account))
    message = str(caught.value)
    assert f"customer {household.id}" in message
    assert "adopt: true" in message
    assert f"importId: {household.id}" in message
    [live] = [c for c in lab_customers(emulator) if c["accountId"] == account]
    assert (live["id"], live["name"], live["email"]) == (household.id, "Real Household", "r@h.org")
    assert PATCH not in calls(emulator)


def test_adopt_takes_over_and_patches_name(
    customers: CustomerProvider,
    emulator: EmulatorServer,
    plume: PlumeClient,
    account_id: Callable[[], str],
) -> None:
    account = account_id()
    existing = plume.register_customer(
        CustomerRegistration(account_id=account, partner_id="lab-partner", name="Old Name")
    )
    emulator.reset_stats()
    props = customer_props(account, name="New Name", adopt=True, onboardingCheckpoint="PodsAdded")
    created = customers.create(props)
    outs = created.outs or {}
    assert created.id == existing.id
    assert outs["locationId"] == existing.location_id
    assert outs["name"] == "New Name"
    assert outs["onboardingCheckpoint"] == "PodsAdded"
    assert len(lab_customers(emulator)) == 1
    assert lab_customers(emulator)[0]["name"] == "New Name"
    assert REGISTER not in calls(emulator)
    assert calls(emulator)[PATCH] == 1
    # Adopting again (e.g. after the state was lost) is idempotent: nothing to patch.
    emulator.reset_stats()
    assert customers.create(props).id == existing.id
    assert PATCH not in calls(emulator)


def test_adopt_without_existing_customer_registers(
    customers: CustomerProvider, emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    created = customers.create(customer_props(account_id(), adopt=True))
    assert [c["id"] for c in lab_customers(emulator)] == [created.id]


def test_adopt_refuses_a_customer_with_another_profile(
    customers: CustomerProvider, plume: PlumeClient, account_id: Callable[[], str]
) -> None:
    account = account_id()
    plume.register_customer(
        CustomerRegistration(account_id=account, partner_id="lab-partner", profile="smallbusiness")
    )
    with pytest.raises(PlumeResourceError, match="profile 'smallbusiness'"):
        customers.create(customer_props(account, adopt=True))


def test_locked_partner_fails_with_next_step(
    emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    creds = emulator.credentials("locked-partner")
    provider = configure(CustomerProvider(), stack_config(creds))
    with pytest.raises(PartnerLockedError) as caught:
        provider.create(customer_props(account_id(), partnerId="locked-partner"))
    message = str(caught.value)
    assert "locked-partner" in message
    assert "unlock" in message
    assert creds.client_secret not in message


def test_email_taken_is_a_validation_error(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    customers.create(customer_props(account_id(), email="dup@example.org"))
    with pytest.raises(UnprocessableEntityError, match=r"dup@example\.org"):
        customers.create(customer_props(account_id(), email="dup@example.org"))


def test_deleted_out_of_band_reads_as_gone(
    customers: CustomerProvider, plume: PlumeClient, account_id: Callable[[], str]
) -> None:
    created = customers.create(customer_props(account_id()))
    plume.delete_customer(created.id)
    read = customers.read(created.id, created.outs or {})
    assert (read.id, read.outs) == ("", {})


def test_unknown_customer_id_reads_as_gone(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    read = customers.read("0123456789abcdef01234567", {"accountId": account_id()})
    assert (read.id, read.outs) == ("", {})


def test_renamed_out_of_band_reads_back_live_values(
    customers: CustomerProvider, plume: PlumeClient, account_id: Callable[[], str]
) -> None:
    props = customer_props(account_id(), email="carol@example.org")
    created = customers.create(props)
    plume.update_customer(created.id, CustomerUpdate(name="Carol Live", email="c2@example.org"))
    read = customers.read(created.id, created.outs or {})
    assert read.outs is not None
    assert read.inputs is not None
    assert read.outs["name"] == read.inputs["name"] == "Carol Live"
    assert read.outs["email"] == read.inputs["email"] == "c2@example.org"
    # The next `up` brings the live customer back to the code.
    diff = customers.diff(created.id, read.outs, props)
    assert diff.changes is True
    assert diff.replaces == []


def test_import_reads_from_inputs_alone(
    customers: CustomerProvider, plume: PlumeClient, account_id: Callable[[], str]
) -> None:
    account = account_id()
    existing = plume.register_customer(
        CustomerRegistration(
            account_id=account,
            partner_id="lab-partner",
            name="Imported",
            email="imp@example.org",
            profile="smallbusiness",
        )
    )
    declared = {"accountId": account, "name": "Imported", "profile": "smallbusiness"}
    read = customers.read(existing.id, declared)
    assert read.id == existing.id
    assert read.outs is not None
    assert read.inputs is not None
    assert read.outs["customerId"] == existing.id
    assert read.outs["locationId"] == existing.location_id
    assert read.inputs == {
        "accountId": account,
        "partnerId": "lab-partner",
        "name": "Imported",
        "email": "imp@example.org",
        "profile": "smallbusiness",
        "acceptLanguage": "en-US",
    }
    # The program's declaration matches what was imported: no diff.
    checked = customers.check({}, declared).inputs
    assert customers.diff(existing.id, read.outs, checked).changes is False


def test_read_keeps_declared_location_and_live_checkpoint(
    customers: CustomerProvider, plume: PlumeClient, account_id: Callable[[], str]
) -> None:
    created = customers.create(customer_props(account_id()))
    outs = created.outs or {}
    plume.set_onboarding_checkpoint(created.id, outs["locationId"], "OnboardingComplete")
    read = customers.read(created.id, outs)
    assert read.outs is not None
    assert read.outs["locationId"] == outs["locationId"]
    assert read.outs["onboardingCheckpoint"] == "OnboardingComplete"


def test_location_gone_falls_back_to_first(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    created = customers.create(customer_props(account_id()))
    outs = {**(created.outs or {}), "locationId": "no-such-location"}
    read = customers.read(created.id, outs)
    assert read.outs is not None
    assert read.outs["locationId"] == (created.outs or {})["locationId"]


def test_update_of_replace_only_field_is_refused(
    customers: CustomerProvider, account_id: Callable[[], str]
) -> None:
    props = customer_props(account_id())
    outs = customers.create(props).outs or {}
    with pytest.raises(PlumeResourceError, match="profile"):
        customers.update(outs["customerId"], outs, {**props, "profile": "smallbusiness"})


def test_client_is_built_once_and_token_reused(
    customers: CustomerProvider, emulator: EmulatorServer, account_id: Callable[[], str]
) -> None:
    first = customers.client
    for _ in range(3):
        customers.create(customer_props(account_id()))
    assert customers.client is first
    assert emulator.stats()["tokens_issued"] == 1


def test_credentials_from_environment(
    emulator: EmulatorServer,
    lab_credentials: LabCredentials,
    monkeypatch: pytest.MonkeyPatch,
    account_id: Callable[[], str],
) -> None:
    monkeypatch.setenv("PLUME_API_URL", lab_credentials.api_url)
    monkeypatch.setenv("PLUME_TOKEN_URL", lab_credentials.token_url)
    monkeypatch.setenv("PLUME_CLIENT_ID", lab_credentials.client_id)
    monkeypatch.setenv("PLUME_CLIENT_SECRET", lab_credentials.client_secret)
    monkeypatch.setenv("PLUME_PARTNER_ID", lab_credentials.partner_id)
    monkeypatch.setenv("PLUME_REQUESTS_PER_SECOND", "0")
    provider = CustomerProvider()  # never configured: the environment is enough
    checked = provider.check({}, {"accountId": account_id()})
    assert checked.inputs["partnerId"] == "lab-partner"
    created = provider.create(checked.inputs)
    assert [c["id"] for c in lab_customers(emulator)] == [created.id]
