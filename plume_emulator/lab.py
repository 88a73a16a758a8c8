"""The parts of one running emulator, bundled so routes and the gateway can reach them."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from plume_emulator.auth import Principal, TokenService
from plume_emulator.backend import PlumeBackend
from plume_emulator.faults import Faults
from plume_emulator.options import EmulatorOptions
from plume_emulator.stats import Stats
from plume_emulator.waf import Waf


@dataclass
class Lab:
    """Backend (state and rules), token service and the edge/test machinery."""

    options: EmulatorOptions
    backend: PlumeBackend
    tokens: TokenService
    waf: Waf
    faults: Faults
    stats: Stats

    def reset(self) -> None:
        """Fresh seed data, no faults, zero stats, an empty WAF window."""
        self.backend.reset()
        self.faults.clear()
        self.stats.reset()
        self.waf.reset()

    def close(self) -> None:
        self.backend.db.close()


def lab_of(request: Request) -> Lab:
    """The lab serving this request."""
    lab: Lab = request.app.state.lab
    return lab


def caller(request: Request) -> tuple[Lab, Principal]:
    """The lab and the verified token of an ``/api`` request (401 otherwise)."""
    lab = lab_of(request)
    return lab, lab.tokens.verify(request.headers.get("authorization"))
