"""Fixtures for the client's unit tests: respx routes for a fake Plume, recorded sleeps."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client.settings import PlumeSettings

API = "https://plume.test/api"
TOKEN_URL = "https://auth.plume.test/oauth2/ausplume/v1/token"
CLIENT_ID = "lab-client"
SECRET = "s3cr3t-Client-Secret-9f2c"
PARTNER = "lab-partner"
ACCESS_TOKEN_PREFIX = "tok-"


class Sleeps(list[float]):
    """An injectable `sleep` that records delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def jwt(exp: float, marker: str = "x") -> str:
    """An unsigned JWT with `exp`, good enough for expiry parsing."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'm': marker})}.sig"


def plume_error(status: int, message: str = "", name: str = "Error") -> httpx.Response:
    """A response in Plume's error shape."""
    body = {"error": {"statusCode": status, "name": name, "message": message or f"m{status}"}}
    return httpx.Response(status, json=body)


class TokenEndpoint:
    """Issues distinct tokens and counts them."""

    def __init__(self, expires_in: int = 600) -> None:
        self.issued: list[str] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = f"{ACCESS_TOKEN_PREFIX}{len(self.issued) + 1}-a1b2c3d4"
        self.issued.append(token)
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "access_token": token,
                "scope": f"partnerId:{PARTNER} role:partnerIdAdmin",
            },
        )


@pytest.fixture
def settings() -> PlumeSettings:
    return PlumeSettings(
        api_url=API,
        token_url=TOKEN_URL,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        partner_id=PARTNER,
        requests_per_second=0,
        max_retries=3,
        max_rate_limit_wait_seconds=60,
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def token_endpoint() -> TokenEndpoint:
    return TokenEndpoint()


@pytest.fixture
def mock(token_endpoint: TokenEndpoint) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL, name="token").mock(side_effect=token_endpoint)
        yield router


@pytest.fixture
def client(
    settings: PlumeSettings, sleeps: Sleeps, mock: respx.MockRouter
) -> Iterator[PlumeClient]:
    with PlumeClient(settings, sleep=sleeps) as c:
        yield c
