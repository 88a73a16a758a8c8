"""What a lab test reads of the emulator, whichever engine runs the stack: the lab partner's live
customers, claims and licenses, the API requests since the last stats reset, and a plain httpx
client with a partner token for changes made out of band."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from plume_emulator.testing import EmulatorServer, LabCredentials

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
            creds = self.credentials
            token = httpx.post(
                creds.token_url,
                auth=(creds.client_id, creds.client_secret),
                data={
                    "grant_type": "client_credentials",
                    "scope": f"partnerId:{creds.partner_id} role:partnerIdAdmin",
                },
            )
            token.raise_for_status()
            self._api = httpx.Client(
                base_url=creds.api_url,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
