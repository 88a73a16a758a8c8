"""Customers and locations: every documented status code and the seeds' validation rules."""

from __future__ import annotations

from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer
from tests.emulator.helpers import HTTP, MISSING, Api, assert_error


# ------------------------------------------------------------------ register
def test_register_returns_customer_with_location(api: Api, emulator: EmulatorServer) -> None:
    response = api.register(accountId="CRM-1", name="Ann Lee", email="ann@example.org")
    assert response.status_code == 200
    body = response.json()
    assert body["accountId"] == "CRM-1"
    assert body["partnerId"] == "lab-partner"
    assert body["name"] == "Ann Lee"
    assert body["email"] == "ann@example.org"
    assert body["acceptLanguage"] == "en-US"
    for flag in ("anonymous", "autoProvisioned", "systemUser"):
        assert body[flag] is False
    assert isinstance(body["_version"], str)
    locations = api.request("GET", f"/Customers/{body['id']}/locations").json()
    assert [loc["id"] for loc in locations] == [body["locationId"]]
    assert locations[0]["profile"] == "auto"
    assert locations[0]["authorizations"]["numPodsAuthorized"] == 32


def test_register_without_email_invents_one(api: Api) -> None:
    email = api.register(email=MISSING).json()["email"]
    assert email.startswith("null+")
    assert email.endswith("@plume.com")
    assert api.register(email=MISSING).json()["email"] != email


def test_register_smallbusiness_profile_and_checkpoint(api: Api) -> None:
    body = api.register(profile="smallbusiness", onboardingCheckpoint="PodsAdded").json()
    location = api.request("GET", f"/Customers/{body['id']}/locations/{body['locationId']}").json()
    assert location["profile"] == "smallbusiness"
    assert location["onboardingCheckpoint"]["value"] == "PodsAdded"


@pytest.mark.parametrize(
    ("fields", "status", "mention"),
    [
        pytest.param({"accountId": MISSING}, 400, "accountId", id="400-missing-accountId"),
        pytest.param({"partnerId": MISSING}, 400, "partnerId", id="400-missing-partnerId"),
        pytest.param(
            {"partnerId": "locked-partner"}, 403, "locked-partner", id="403-locked-partner"
        ),
        pytest.param(
            {"partnerId": "ghost-partner"}, 404, "ghost-partner", id="404-unknown-partner"
        ),
        pytest.param(
            {"partnerId": "other-partner"}, 422, "other-partner", id="422-partner-not-in-token"
        ),
        pytest.param({"email": "not-an-email"}, 422, "not-an-email", id="422-bad-email"),
        pytest.param({"email": "a@b"}, 422, "a@b", id="422-email-without-tld"),
        pytest.param(
            {"name": "Ann \u201cthe boss\u201d"}, 422, "name", id="422-curly-quotes-in-name"
        ),
        pytest.param({"name": 'Ann "the boss"'}, 422, "name", id="422-ascii-quote-in-name"),
        pytest.param(
            {"accountId": "ACC\u201d1"}, 422, "accountId", id="422-curly-quote-in-accountId"
        ),
        pytest.param({"accountId": 'ACC"1'}, 422, "accountId", id="422-ascii-quote-in-accountId"),
        pytest.param({"accountId": "  "}, 422, "accountId", id="422-blank-accountId"),
        pytest.param({"profile": "enterprise"}, 422, "enterprise", id="422-bad-profile"),
        pytest.param({"acceptLanguage": "english"}, 422, "english", id="422-bad-acceptLanguage"),
        pytest.param({"onboardingCheckpoint": "Done"}, 422, "Done", id="422-bad-checkpoint"),
        pytest.param({"password": "short1A"}, 422, "8 characters", id="422-password-too-short"),
        pytest.param({"password": "alllowercase"}, 422, "two of", id="422-password-one-class"),
        pytest.param({"accountId": 12345}, 422, "accountId", id="422-accountId-not-a-string"),
        pytest.param({"favourite": "blue"}, 422, "favourite", id="422-unknown-field"),
    ],
)
def test_register_rejections(
    api: Api, emulator: EmulatorServer, fields: dict[str, Any], status: int, mention: str
) -> None:
    before = emulator.state()
    assert_error(api.register(**fields), status, mention)
    assert emulator.state() == before


def test_register_accepts_password_with_two_classes(api: Api) -> None:
    assert api.register(password="longenough1").status_code == 200


def test_register_without_token_is_401(emulator: EmulatorServer) -> None:
    response = HTTP.post(
        f"{emulator.api_url}/Customers/register",
        json={"accountId": "X", "partnerId": "lab-partner"},
    )
    assert_error(response, 401)


def test_register_token_without_partner_is_422(emulator: EmulatorServer) -> None:
    token = emulator.mint_token(partnerId=None)
    response = HTTP.post(
        f"{emulator.api_url}/Customers/register",
        headers={"Authorization": f"Bearer {token}"},
        json={"accountId": "X", "partnerId": "lab-partner"},
    )
    assert_error(response, 422, "missing partnerId in authorization token")


def test_locked_partner_own_token_is_403(emulator: EmulatorServer) -> None:
    locked = Api(emulator, "locked-partner")
    try:
        assert_error(locked.register(), 403, "locked-partner")
    finally:
        locked.close()


def test_duplicate_account_id_per_partner_is_409(api: Api, other_api: Api) -> None:
    assert api.register(accountId="DUP-1").status_code == 200
    assert_error(api.register(accountId="DUP-1"), 409, "DUP-1")
    assert other_api.register(accountId="DUP-1").status_code == 200, (
        "accountId is unique per partner only"
    )


def test_email_is_unique_across_the_cloud(api: Api, other_api: Api) -> None:
    assert api.register(email="same@example.org").status_code == 200
    assert_error(api.register(email="same@example.org"), 422, "same@example.org")
    assert_error(other_api.register(email="SAME@example.org"), 422, "already exists")


def test_deleted_customer_frees_email_and_account_id(api: Api) -> None:
    customer = api.customer(accountId="GONE-1", email="gone@example.org")
    assert api.request("DELETE", f"/Customers/{customer.id}").status_code == 200
    assert api.register(accountId="GONE-1", email="gone@example.org").status_code == 200


# ------------------------------------------------------------------ get / patch / delete
def test_get_customer(api: Api) -> None:
    customer = api.customer(name="Bo")
    body = api.request("GET", f"/Customers/{customer.id}").json()
    assert body["id"] == customer.id
    assert body["name"] == "Bo"
    for key in (
        "accountId",
        "email",
        "partnerId",
        "acceptLanguage",
        "emailVerified",
        "createdAt",
        "_version",
    ):
        assert key in body


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_customer_calls_404_for_unknown_id(api: Api, method: str) -> None:
    kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
    response = api.request(method, "/Customers/ffffffffffffffffffffffff", **kwargs)
    if method == "PATCH":
        assert_error(response, 404, "ffffffffffffffffffffffff")
    else:
        assert_error(response, 404, "ffffffffffffffffffffffff")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        pytest.param("GET", "", id="get"),
        pytest.param("PATCH", "", id="patch"),
        pytest.param("DELETE", "", id="delete"),
        pytest.param("GET", "/locations", id="list-locations"),
        pytest.param("GET", "/locations/{loc}", id="get-location"),
        pytest.param("DELETE", "/locations/{loc}", id="delete-location"),
        pytest.param("POST", "/locations/{loc}/onboardingCheckpoint", id="checkpoint"),
        pytest.param("GET", "/locations/{loc}/nodes", id="list-nodes"),
        pytest.param("POST", "/locations/{loc}/nodes", id="claim"),
        pytest.param("PUT", "/locations/{loc}/nodes/LAB-GW-0001", id="rename"),
        pytest.param("DELETE", "/locations/{loc}/nodes/LAB-GW-0001", id="unclaim"),
    ],
)
def test_another_partners_customer_is_401(
    api: Api, other_api: Api, emulator: EmulatorServer, method: str, suffix: str
) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0001")
    bodies = {
        "PATCH": {"name": "x"},
        "POST": {"serialNumber": "LAB-GW-0002", "checkpoint": "PodsAdded"},
        "PUT": {"nickname": "x"},
    }
    body = bodies.get(method)
    if method == "POST" and suffix.endswith("nodes"):
        body = {"serialNumber": "LAB-GW-0002"}
    elif method == "POST":
        body = {"checkpoint": "PodsAdded"}
    before = emulator.state()
    path = f"/Customers/{customer.id}" + suffix.format(loc=customer.location_id)
    response = other_api.request(method, path, **({"json": body} if body else {}))
    assert_error(response, 401, customer.id)
    assert emulator.state() == before


def test_patch_customer(api: Api) -> None:
    customer = api.customer(accountId="P-1", name="Old")
    response = api.request(
        "PATCH",
        f"/Customers/{customer.id}",
        json={"name": "New", "email": "new@example.org", "accountId": "P-2"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["email"], body["accountId"]) == ("New", "new@example.org", "P-2")
    assert body["_version"] == "2"
    assert api.request("GET", f"/Customers/{customer.id}").json()["name"] == "New"


def test_patch_duplicate_account_id_is_409(api: Api) -> None:
    api.customer(accountId="TAKEN")
    customer = api.customer()
    assert_error(
        api.request("PATCH", f"/Customers/{customer.id}", json={"accountId": "TAKEN"}), 409, "TAKEN"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": "broken"}, id="bad-email"),
        pytest.param({"name": "\u201cQ\u201d"}, id="quotes-in-name"),
        pytest.param({"accountId": 'A"B'}, id="quote-in-accountId"),
        pytest.param({"name": None}, id="null-name"),
        pytest.param({"partnerId": "other-partner"}, id="unknown-field"),
    ],
)
def test_patch_validation_is_422(api: Api, emulator: EmulatorServer, body: dict[str, Any]) -> None:
    customer = api.customer()
    before = emulator.state()
    assert_error(api.request("PATCH", f"/Customers/{customer.id}", json=body), 422)
    assert emulator.state() == before


def test_patch_email_taken_is_422(api: Api) -> None:
    api.customer(email="first@example.org")
    customer = api.customer()
    assert_error(
        api.request("PATCH", f"/Customers/{customer.id}", json={"email": "first@example.org"}),
        422,
        "first@example.org",
    )


def test_delete_customer_archives_and_unclaims(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    assert api.claim(customer, "LAB-GW-0001").status_code == 200
    response = api.request("DELETE", f"/Customers/{customer.id}")
    assert response.status_code == 200
    assert response.json() == {"count": 1}
    assert_error(api.request("GET", f"/Customers/{customer.id}"), 404)
    assert_error(api.request("DELETE", f"/Customers/{customer.id}"), 404)
    lookup = api.request("GET", "/Partners/nodes/LAB-GW-0001").json()
    assert "customerId" not in lookup
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 0


# ------------------------------------------------------------------ locations
def test_get_location(api: Api) -> None:
    customer = api.customer()
    body = api.request("GET", f"/Customers/{customer.id}/locations/{customer.location_id}").json()
    assert body["id"] == customer.location_id
    assert body["customerId"] == customer.id
    assert body["partnerId"] == "lab-partner"
    assert body["accountId"] == customer.account_id
    for key in ("name", "profile", "serviceId", "createdAt"):
        assert key in body


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_location_is_404(api: Api, method: str) -> None:
    customer = api.customer()
    assert_error(api.request(method, f"/Customers/{customer.id}/locations/nope"), 404, "nope")


def test_list_locations_of_unknown_customer_is_404(api: Api) -> None:
    assert_error(api.request("GET", "/Customers/nobody/locations"), 404, "nobody")


def test_delete_last_location_creates_a_new_empty_one(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-POD-0001")
    response = api.request("DELETE", f"/Customers/{customer.id}/locations/{customer.location_id}")
    assert response.status_code == 204
    locations = api.request("GET", f"/Customers/{customer.id}/locations").json()
    assert len(locations) == 1
    assert locations[0]["id"] != customer.location_id
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 0
    assert_error(
        api.request("GET", f"/Customers/{customer.id}/locations/{customer.location_id}"), 404
    )


def test_delete_archived_location_is_409(api: Api) -> None:
    customer = api.customer()
    path = f"/Customers/{customer.id}/locations/{customer.location_id}"
    assert api.request("DELETE", path).status_code == 204
    assert_error(api.request("DELETE", path), 409, customer.location_id)


# ------------------------------------------------------------------ onboarding checkpoint
@pytest.mark.parametrize("value", ["PodsAdded", "OnboardingComplete"])
def test_checkpoint(api: Api, value: str) -> None:
    customer = api.customer()
    response = api.request(
        "POST",
        f"/Customers/{customer.id}/locations/{customer.location_id}/onboardingCheckpoint",
        json={"checkpoint": value},
    )
    assert response.status_code == 200
    body = response.json()["checkpoint"]
    assert body["value"] == value
    assert body["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"checkpoint": "Halfway"}, id="illegal"),
        pytest.param({"checkpoint": 3}, id="not-a-string"),
    ],
)
def test_checkpoint_validation_is_422(api: Api, body: dict[str, Any]) -> None:
    customer = api.customer()
    path = f"/Customers/{customer.id}/locations/{customer.location_id}/onboardingCheckpoint"
    assert_error(api.request("POST", path, json=body), 422, "checkpoint")


def test_checkpoint_unknown_location_is_404(api: Api) -> None:
    customer = api.customer()
    response = api.request(
        "POST",
        f"/Customers/{customer.id}/locations/nope/onboardingCheckpoint",
        json={"checkpoint": "PodsAdded"},
    )
    assert_error(response, 404, "nope")


# ------------------------------------------------------------------ search
def test_search_by_account_id(api: Api, other_api: Api) -> None:
    customer = api.customer(accountId="FIND-ME", name="Fay", email="fay@example.org")
    other_api.customer(accountId="FIND-ME")
    response = api.request(
        "GET", "/Partners/customers/search/FIND-ME", params={"field": "accountId"}
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": customer.id,
            "accountId": "FIND-ME",
            "name": "Fay",
            "email": "fay@example.org",
            "locations": [{"id": customer.location_id}],
        }
    ]


def test_search_prefix_when_not_exact(api: Api) -> None:
    api.customer(accountId="PRE-1")
    api.customer(accountId="PRE-2")
    response = api.request(
        "GET",
        "/Partners/customers/search/PRE-",
        params={"field": "accountId", "exactMatch": "false"},
    )
    assert sorted(c["accountId"] for c in response.json()) == ["PRE-1", "PRE-2"]


def test_search_by_location_id(api: Api) -> None:
    customer = api.customer()
    response = api.request(
        "GET", f"/Partners/customers/search/{customer.location_id}", params={"field": "locationId"}
    )
    assert [c["id"] for c in response.json()] == [customer.id]


def test_search_no_match_is_404(api: Api) -> None:
    assert_error(
        api.request("GET", "/Partners/customers/search/NOPE", params={"field": "accountId"}),
        404,
        "NOPE",
    )


def test_search_other_partners_location_is_403(api: Api, other_api: Api) -> None:
    theirs = other_api.customer()
    response = api.request(
        "GET", f"/Partners/customers/search/{theirs.location_id}", params={"field": "locationId"}
    )
    assert_error(response, 403, theirs.location_id)


@pytest.mark.parametrize(
    ("value", "params", "mention"),
    [
        pytest.param("x", {"field": "serial"}, "serial", id="illegal-field"),
        pytest.param("null", {"field": "accountId"}, "null", id="null-keyword"),
        pytest.param(
            "x", {"field": "accountId", "exactMatch": "maybe"}, "exactMatch", id="bad-boolean"
        ),
    ],
)
def test_search_validation_is_422(
    api: Api, value: str, params: dict[str, str], mention: str
) -> None:
    assert_error(
        api.request("GET", f"/Partners/customers/search/{value}", params=params), 422, mention
    )


def test_search_without_token_is_401(emulator: EmulatorServer) -> None:
    assert_error(HTTP.get(f"{emulator.api_url}/Partners/customers/search/X"), 401)
