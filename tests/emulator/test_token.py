"""The OAuth token endpoint (Okta's shapes) and the Bearer check on every /api call."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from plume_emulator.options import ManualClock
from plume_emulator.testing import EmulatorServer, LabCredentials
from tests.conftest import EmulatorFactory
from tests.emulator.helpers import HTTP, Api, assert_error, fetch_token

GOOD_SCOPE = "partnerId:lab-partner role:partnerIdAdmin"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


def test_token_success_shape(lab_credentials: LabCredentials) -> None:
    response = HTTP.post(
        lab_credentials.token_url,
        headers={"Authorization": lab_credentials.auth_header, "Cache-Control": "no-cache"},
        data={"grant_type": "client_credentials", "scope": GOOD_SCOPE},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == GOOD_SCOPE
    header, _, signature = body["access_token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "HS256"
    assert signature
    claims = claims_of(body["access_token"])
    assert claims["partnerId"] == "lab-partner"
    assert claims["sub"] == "lab-client"
    assert claims["scope"] == GOOD_SCOPE
    assert claims["exp"] - claims["iat"] == 600
    assert response.headers["cache-control"] == "no-store"


def test_tokens_have_unique_jti(lab_credentials: LabCredentials) -> None:
    first, second = fetch_token(lab_credentials), fetch_token(lab_credentials)
    assert claims_of(first)["jti"] != claims_of(second)["jti"]


def test_scope_order_does_not_matter(lab_credentials: LabCredentials) -> None:
    response = HTTP.post(
        lab_credentials.token_url,
        headers={"Authorization": lab_credentials.auth_header},
        data={
            "grant_type": "client_credentials",
            "scope": "role:partnerIdAdmin partnerId:lab-partner",
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "form", "status", "error"),
    [
        pytest.param(
            {},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE},
            401,
            "invalid_client",
            id="no-auth-header",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "wrong")},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE},
            401,
            "invalid_client",
            id="wrong-secret",
        ),
        pytest.param(
            {"Authorization": basic("nobody", "x")},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE},
            401,
            "invalid_client",
            id="unknown-client",
        ),
        pytest.param(
            {"Authorization": "Basic !!!notbase64"},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE},
            401,
            "invalid_client",
            id="garbled-basic",
        ),
        pytest.param(
            {"Authorization": "Bearer abc"},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE},
            401,
            "invalid_client",
            id="bearer-instead-of-basic",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"scope": GOOD_SCOPE},
            400,
            "invalid_request",
            id="missing-grant-type",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"grant_type": "password", "scope": GOOD_SCOPE},
            400,
            "invalid_grant",
            id="password-grant",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"grant_type": "magic", "scope": GOOD_SCOPE},
            400,
            "unsupported_grant_type",
            id="unknown-grant",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"grant_type": "client_credentials"},
            400,
            "invalid_scope",
            id="missing-scope",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"grant_type": "client_credentials", "scope": "partnerId:lab-partner"},
            400,
            "invalid_scope",
            id="scope-without-role",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {
                "grant_type": "client_credentials",
                "scope": "partnerId:other-partner role:partnerIdAdmin",
            },
            400,
            "invalid_scope",
            id="scope-of-other-partner",
        ),
        pytest.param(
            {"Authorization": basic("lab-client", "lab-secret")},
            {"grant_type": "client_credentials", "scope": GOOD_SCOPE + " openid"},
            400,
            "invalid_scope",
            id="extra-scope",
        ),
    ],
)
def test_token_errors(
    emulator: EmulatorServer, headers: dict[str, str], form: dict[str, str], status: int, error: str
) -> None:
    response = HTTP.post(emulator.token_url, headers=headers, data=form)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


def test_token_wrong_content_type_is_invalid_request(lab_credentials: LabCredentials) -> None:
    response = HTTP.post(
        lab_credentials.token_url,
        headers={"Authorization": lab_credentials.auth_header},
        json={"grant_type": "client_credentials", "scope": GOOD_SCOPE},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_failures_are_not_counted_as_issued(
    emulator: EmulatorServer, lab_credentials: LabCredentials
) -> None:
    fetch_token(lab_credentials)
    HTTP.post(emulator.token_url, data={"grant_type": "client_credentials", "scope": GOOD_SCOPE})
    assert emulator.stats()["tokens_issued"] == 1


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing"),
        pytest.param("Bearer", id="empty-bearer"),
        pytest.param("Bearer not-a-jwt", id="not-a-jwt"),
        pytest.param("Bearer a.b.c", id="bad-signature"),
        pytest.param("Basic bGFiLWNsaWVudDpsYWItc2VjcmV0", id="basic-instead-of-bearer"),
    ],
)
def test_api_rejects_bad_bearer(emulator: EmulatorServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = HTTP.get(f"{emulator.api_url}/Partners/nodes/LAB-GW-0001", headers=headers)
    assert_error(response, 401)


def test_forged_token_signed_elsewhere_is_rejected(
    emulator: EmulatorServer, lab_credentials: LabCredentials
) -> None:
    token = fetch_token(lab_credentials)
    header, _payload, signature = token.split(".")
    claims = claims_of(token)
    claims["partnerId"] = "other-partner"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    response = HTTP.get(
        f"{emulator.api_url}/Partners/nodes/OTH-GW-0001",
        headers={"Authorization": f"Bearer {header}.{forged_payload}.{signature}"},
    )
    assert_error(response, 401, "signature")


def test_pre_issued_token_without_bearer_prefix_is_accepted(
    api: Api, emulator: EmulatorServer
) -> None:
    response = HTTP.get(
        f"{emulator.api_url}/Partners/nodes/LAB-GW-0001", headers={"Authorization": api.token}
    )
    assert response.status_code == 200


def test_token_expires_with_the_injected_clock(emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    server = emulator_factory(token_ttl=1, clock=clock)
    token = fetch_token(server.credentials())
    url = f"{server.api_url}/Partners/nodes/LAB-GW-0001"
    headers = {"Authorization": f"Bearer {token}"}
    assert HTTP.get(url, headers=headers).status_code == 200
    clock.advance(1.5)
    assert_error(HTTP.get(url, headers=headers), 401, "expired")
    fresh = fetch_token(server.credentials())
    assert HTTP.get(url, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_expired_minted_token_is_rejected(emulator: EmulatorServer) -> None:
    token = emulator.mint_token(expires_in=-5)
    response = HTTP.get(
        f"{emulator.api_url}/Partners/nodes/LAB-GW-0001",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(response, 401, "expired")


def test_token_ttl_option_is_reported(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(token_ttl=3600)
    creds = server.credentials()
    response = HTTP.post(
        creds.token_url,
        headers={"Authorization": creds.auth_header},
        data={"grant_type": "client_credentials", "scope": GOOD_SCOPE},
    )
    assert response.json()["expires_in"] == 3600


def test_token_endpoint_accepts_client_secret_post(emulator: EmulatorServer) -> None:
    response = HTTP.post(
        emulator.token_url,
        data={
            "grant_type": "client_credentials",
            "scope": GOOD_SCOPE,
            "client_id": "lab-client",
            "client_secret": "lab-secret",
        },
    )
    assert response.status_code == 200
