"""What a lab test reads of the emulator, whichever engine runs the stack: the lab partner's live
customers, claims and licenses, the API requests since the last stats reset, and a plain httpx
client with a partner token for changes made out of band."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from plume_emulator.testing import EmulatorServer, LabCredentials

__all__ = ["MUTATING_METHODS", "LabView", "client_env", "partner_token"]

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_env(credentials: LabCredentials, **settings: str) -> dict[str, str]:
    """The ``PLUME_*`` variables of a client of the credentials' partner, plus ``settings``
    (``PLUME_REQUESTS_PER_SECOND="0"``, ...)."""
    return {
        "PLUME_API_URL": credentials.api_url,
        "PLUME_TOKEN_URL": credentials.token_url,
        "PLUME_CLIENT_ID": credentials.client_id,
        "PLUME_CLIENT_SECRET": credentials.client_secret,
        "PLUME_PARTNER_ID": credentials.partner_id,
        **settings,
    }


def partner_token(credentials: LabCredentials) -> str:
    """An admin access token of the credentials' partner, from the emulator's token endpoint."""
    response = httpx.post(
        credentials.token_url,
        auth=(credentials.client_id, credentials.client_secret),
        data={
            "grant_type": "client_credentials",
            "scope": f"partnerId:{credentials.partner_id} role:partnerIdAdmin",
        },
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


class LabView:
    """The emulator side of a lab stack (see module docstring)."""

    def __init__(self, emulator: EmulatorServer, credentials: LabCredentials) -> None:
        self.emulator = emulator
        self.credentials = credentials
        self._api: httpx.Client | None = None

    def partner(self) -> dict[str, Any]:
        """The emulator's view of the lab partner: customers, claimed nodes, licenses."""
        state: dict[str, Any] = self.emulator.state()["partners"][self.credentials.partner_id]
        return state

    def claimed(self) -> dict[str, str]:
        """Claimed serial -> customer id, per the emulator."""
        return {n["serialNumber"]: n["customerId"] for n in self.partner()["claimed_nodes"]}

    def api_requests(self) -> Counter[tuple[str, str]]:
        """Requests under /api since the last reset, as (method, route) -> count."""
        counts: Counter[tuple[str, str]] = Counter()
        for row in self.emulator.stats()["requests"]:
            if row["route"].startswith("/api"):
                counts[(row["method"], row["route"])] += row["count"]
        return counts

    def mutating_calls(self) -> Counter[tuple[str, str]]:
        """POST/PUT/PATCH/DELETE requests under /api since the last reset."""
        return Counter(
            {key: n for key, n in self.api_requests().items() if key[0] in MUTATING_METHODS}
        )

    @property
    def api(self) -> httpx.Client:
        """A plain httpx client on /api with a lab partner token (for out-of-band changes)."""
        if self._api is None:
            self._api = httpx.Client(
                base_url=self.credentials.api_url,
                headers={"Authorization": f"Bearer {partner_token(self.credentials)}"},
            )
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
