"""The lab stack driven end to end: real program, real dynamic host, local Plume emulator.

``lab`` gives an ``EngineDouble`` over the project's ``__main__.py`` with the lab stack's config
(``stacks/Pulumi.lab.yaml``) pointed at the test's emulator, plus helpers to change the fleet
between runs, count the emulator's mutating API calls and act out of band with plain httpx.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from tests.enginedouble.engine import EngineDouble, load_stack_config

REPO = Path(__file__).resolve().parents[2]
CUSTOMER_TYPE = "pulumi-python:dynamic/plume:Customer"
NODE_TYPE = "pulumi-python:dynamic/plume:Node"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Lab:
    """One lab stack against one emulator (see module docstring)."""

    def __init__(self, emulator: EmulatorServer, credentials: LabCredentials, state: Path):
        self.emulator = emulator
        self.credentials = credentials
        config = load_stack_config(REPO, "lab")
        config.update(
            {
                "plume:apiUrl": emulator.api_url,
                "plume:tokenUrl": emulator.token_url,
                "plume:requestsPerSecond": "0",
            }
        )
        self.engine = EngineDouble(REPO / "__main__.py", config, state, stack="lab")
        self._api: httpx.Client | None = None

    # -- the fleet -------------------------------------------------------------------------

    @property
    def customers(self) -> list[dict[str, Any]]:
        """The declared customers (edit a copy, then ``set_customers``)."""
        declared = cast(list[dict[str, Any]], self.engine.stack_config["plume-fleet:customers"])
        return copy.deepcopy(declared)

    def set_customers(self, customers: list[dict[str, Any]]) -> None:
        self.engine.stack_config["plume-fleet:customers"] = customers

    def customer(self, customers: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
        return next(c for c in customers if c["accountId"] == account_id)

    def serials(self) -> set[str]:
        return {n["serialNumber"] for c in self.customers for n in c.get("nodes", [])}

    # -- URNs and state --------------------------------------------------------------------

    def customer_urn(self, account_id: str) -> str:
        return self.engine.urn(CUSTOMER_TYPE, f"customer-{account_id}")

    def node_urn(self, serial: str) -> str:
        return self.engine.urn(NODE_TYPE, f"node-{serial}")

    def customer_id(self, account_id: str) -> str:
        saved = self.engine.checkpoint().get(self.customer_urn(account_id))
        assert saved is not None, f"customer {account_id} is not in the stack state"
        return saved.id

    def partner(self) -> dict[str, Any]:
        """The emulator's view of the lab partner: customers, claimed nodes, licenses."""
        state: dict[str, Any] = self.emulator.state()["partners"][self.credentials.partner_id]
        return state

    def claimed(self) -> dict[str, str]:
        """Claimed serial -> customer id, per the emulator."""
        return {n["serialNumber"]: n["customerId"] for n in self.partner()["claimed_nodes"]}

    # -- API traffic -----------------------------------------------------------------------

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


@pytest.fixture
def lab(emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path) -> Iterator[Lab]:
    """The lab stack (empty state) against a fresh emulator."""
    stack = Lab(emulator, lab_credentials, tmp_path / "lab-state.json")
    yield stack
    stack.close()
