"""The lab stack driven end to end: real program, real dynamic host, local Plume emulator.

``lab`` gives an ``EngineDouble`` over the project's ``__main__.py`` with the lab stack's config
(``stacks/Pulumi.lab.yaml``) pointed at the test's emulator, plus helpers to change the fleet
between runs, count the emulator's mutating API calls and act out of band with plain httpx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit import REPO_ROOT
from plume_testkit.enginedouble.engine import EngineDouble, load_stack_config
from plume_testkit.lab_fleet import LabFleet
from plume_testkit.lab_view import LabView


class Lab(LabView, LabFleet):
    """One lab stack against one emulator (see module docstring)."""

    def __init__(self, emulator: EmulatorServer, credentials: LabCredentials, state: Path):
        super().__init__(emulator, credentials)
        config = load_stack_config(REPO_ROOT, "lab")
        config.update(
            {
                "plume:apiUrl": emulator.api_url,
                "plume:tokenUrl": emulator.token_url,
                "plume:requestsPerSecond": "0",
            }
        )
        self.engine = EngineDouble(REPO_ROOT / "__main__.py", config, state, stack="lab")

    @property
    def stack_config(self) -> dict[str, Any]:
        return self.engine.stack_config

    def urn(self, type_: str, name: str) -> str:
        return self.engine.urn(type_, name)

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
