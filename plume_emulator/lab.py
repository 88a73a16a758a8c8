"""The parts of one running emulator, bundled so routes and the gateway can reach them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from plume_emulator import developer
from plume_emulator.auth import Principal, TokenService
from plume_emulator.backend import PlumeBackend
from plume_emulator.db import Database
from plume_emulator.faults import Faults
from plume_emulator.options import EmulatorOptions
from plume_emulator.stats import Stats
from plume_emulator.waf import Waf


@dataclass
class Lab:
    """Storage, backend (the API's rules), token service and the edge/test machinery."""

    options: EmulatorOptions
    db: Database
    backend: PlumeBackend
    tokens: TokenService
    waf: Waf
    faults: Faults
    stats: Stats

    def reset(self) -> None:
        """Fresh seed data, no faults, zero stats, an empty WAF window (blocks on SQLite)."""
        developer.reset(self.db)
        self.faults.clear()
        self.stats.reset()
        self.waf.reset()

    def close(self) -> None:
        self.db.close()


def lab_of(request: Request) -> Lab:
    """The lab serving this request."""
    lab: Lab = request.app.state.lab
    return lab


def caller(request: Request) -> tuple[Lab, Principal]:
    """The lab and the verified token of an ``/api`` request (401 otherwise)."""
    lab = lab_of(request)
    return lab, lab.tokens.verify(request.headers.get("authorization"))
