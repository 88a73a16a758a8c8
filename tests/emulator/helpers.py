"""A tiny typed API client for the emulator tests (plain httpx, no plume_provider code)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from plume_emulator.testing import EmulatorServer, LabCredentials

SCOPE = "partnerId:{} role:partnerIdAdmin"
_accounts = itertools.count(1)


HTTP = httpx.Client(timeout=30.0, verify=False)
"""Shared client for one-off calls (verify=False: loopback HTTP, skips loading CA bundles)."""


def fetch_token(creds: LabCredentials) -> str:
    response = HTTP.post(
        creds.token_url,
        headers={"Authorization": creds.auth_header, "Cache-Control": "no-cache"},
        data={"grant_type": "client_credentials", "scope": SCOPE.format(creds.partner_id)},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class Customer:
    id: str
    location_id: str
    account_id: str


class Api:
    """One partner's authenticated view of an emulator."""

    def __init__(self, server: EmulatorServer, partner_id: str = "lab-partner") -> None:
        self.server = server
        self.partner_id = partner_id
        self.token = fetch_token(server.credentials(partner_id))
        self.http = httpx.Client(
            base_url=server.api_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
            verify=False,
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def register(self, **fields: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "accountId": f"ACC-{next(_accounts):06d}",
            "partnerId": self.partner_id,
        }
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not _MISSING}
        return self.http.post("/Customers/register", json=body)

    def customer(self, **fields: Any) -> Customer:
        response = self.register(**fields)
        assert response.status_code == 200, response.text
        data = response.json()
        return Customer(data["id"], data["locationId"], data["accountId"])

    def nodes_path(self, customer: Customer, location_id: str | None = None) -> str:
        return f"/Customers/{customer.id}/locations/{location_id or customer.location_id}/nodes"

    def claim(self, customer: Customer, serial: str, **extra: Any) -> httpx.Response:
        return self.http.post(self.nodes_path(customer), json={"serialNumber": serial, **extra})

    def unclaim(self, customer: Customer, serial: str) -> httpx.Response:
        return self.http.delete(f"{self.nodes_path(customer)}/{serial}")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()
MISSING: Any = _MISSING
"""Pass as a register field value to leave the field out of the body."""


def assert_error(response: httpx.Response, status: int, *mentions: str) -> dict[str, Any]:
    """The response is a Plume error body with ``status`` whose message names ``mentions``."""
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    assert error["statusCode"] == status
    assert isinstance(error["name"], str)
    assert error["name"]
    for mention in mentions:
        assert mention in error["message"], (mention, error["message"])
    return dict(error)
