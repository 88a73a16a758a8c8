"""The lab stack driven end to end: real program, real dynamic host, local Plume emulator.

``lab`` gives an ``EngineDouble`` over the project's ``__main__.py`` with the lab stack's config
(``stacks/Pulumi.lab.yaml``) pointed at the test's emulator, plus helpers to change the fleet
between runs, count the emulator's mutating API calls and act out of band with plain httpx.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.enginedouble.engine import EngineDouble, load_stack_config
from plume_testkit.lab_view import LabView

REPO = Path(__file__).resolve().parents[2]
CUSTOMER_TYPE = "pulumi-python:dynamic/plume:Customer"
NODE_TYPE = "pulumi-python:dynamic/plume:Node"


class Lab(LabView):
    """One lab stack against one emulator (see module docstring)."""

    def __init__(self, emulator: EmulatorServer, credentials: LabCredentials, state: Path):
        super().__init__(emulator, credentials)
        config = load_stack_config(REPO, "lab")
        config.update(
            {
                "plume:apiUrl": emulator.api_url,
                "plume:tokenUrl": emulator.token_url,
                "plume:requestsPerSecond": "0",
            }
        )
        self.engine = EngineDouble(REPO / "__main__.py", config, state, stack="lab")

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


@pytest.fixture
def lab(emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path) -> Iterator[Lab]:
    """The lab stack (empty state) against a fresh emulator."""
    stack = Lab(emulator, lab_credentials, tmp_path / "lab-state.json")
    yield stack
    stack.close()
