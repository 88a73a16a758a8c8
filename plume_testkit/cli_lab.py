"""The lab stack on the real CLI against an emulator: the lab's stack config
(``stacks/Pulumi.lab.yaml``) pointed at the emulator, event logs on every operation, the
emulator's view (``LabView``) and the fleet a test edits between runs (``LabFleet``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit import REPO_ROOT

from .cli import CliStack
from .lab_fleet import CUSTOMER_TYPE, NODE_TYPE, LabFleet
from .lab_view import LabView

__all__ = ["PASSPHRASE", "PROJECT", "CliLab"]

PROJECT = "plume-fleet"
PASSPHRASE = "plume-cli-tests"


class CliLab(LabView, LabFleet, CliStack):
    """One lab stack of a copy of the project, on a backend and PULUMI_HOME of its own (a file
    backend in ``root``, or ``backend_url``); ``env`` adds to the CLI's environment; ``beside``:
    another stack of that lab's project and backend (``CliStack``)."""

    def __init__(
        self,
        cli: Path,
        root: Path,
        emulator: EmulatorServer,
        credentials: LabCredentials,
        stack: str = "lab",
        *,
        backend_url: str | None = None,
        env: dict[str, str] | None = None,
        beside: CliStack | None = None,
    ) -> None:
        LabView.__init__(self, emulator, credentials)
        lab = yaml.safe_load((REPO_ROOT / "stacks" / "Pulumi.lab.yaml").read_text())["config"]
        lab.update(
            {
                "plume:apiUrl": emulator.api_url,
                "plume:tokenUrl": emulator.token_url,
                "plume:requestsPerSecond": "0",
            }
        )
        # PULUMI_DEBUG_COMMANDS enables --event-log, which the tests read.
        CliStack.__init__(
            self,
            cli,
            root,
            lab,
            stack,
            passphrase=PASSPHRASE,
            env={"PULUMI_DEBUG_COMMANDS": "true", **(env or {})},
            backend_url=backend_url,
            beside=beside,
        )

    @property
    def stack_config(self) -> dict[str, Any]:
        return self.config

    def urn(self, type_: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::{PROJECT}::{type_}::{name}"

    def resources(self) -> dict[str, dict[str, Any]]:
        """URN -> saved resource of the Plume types."""
        deployment = self.export()["deployment"]
        return {
            r["urn"]: r
            for r in deployment.get("resources") or []
            if r["type"] in (CUSTOMER_TYPE, NODE_TYPE)
        }

    def customer_id(self, account_id: str) -> str:
        saved = self.resources().get(self.customer_urn(account_id))
        assert saved is not None, f"customer {account_id} is not in the stack state"
        return str(saved["id"])
