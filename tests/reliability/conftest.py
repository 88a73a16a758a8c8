"""Shared machinery of the reliability suite: emulators, capturing hosts, token recording.

Everything here talks real HTTP on loopback to a real emulator; nothing is mocked. (The
process-wide token cache and rate buckets are cleared around each test by tests/conftest.py.)
"""

from __future__ import annotations

import threading
from typing import Any

from plume_emulator.testing import EmulatorServer
from plume_provider.client.settings import PlumeSettings
from plume_testkit.enginedouble.host import ProviderHost
from plume_testkit.fleets import LAB_CLIENT_ID, LAB_CLIENT_SECRET, LAB_PARTNER


def lab_settings(emulator: EmulatorServer, **overrides: Any) -> PlumeSettings:
    """Client settings for the lab partner of `emulator` (limiter off unless overridden)."""
    values: dict[str, Any] = {
        "api_url": emulator.api_url,
        "token_url": emulator.token_url,
        "client_id": LAB_CLIENT_ID,
        "client_secret": LAB_CLIENT_SECRET,
        "partner_id": LAB_PARTNER,
        "requests_per_second": 0,
    }
    values.update(overrides)
    return PlumeSettings(**values)


def api_calls(stats: dict[str, Any], *, mutating_only: bool = False) -> int:
    """How many `/api` requests the emulator counted (optionally only POST/PUT/PATCH/DELETE)."""
    total = 0
    for row in stats["requests"]:
        if not str(row["route"]).startswith("/api"):
            continue
        if mutating_only and row["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        total += int(row["count"])
    return total


def partner_state(emulator: EmulatorServer, partner: str = LAB_PARTNER) -> dict[str, Any]:
    """The emulator's live customers / claims / licenses of one partner."""
    state: dict[str, Any] = emulator.state()["partners"][partner]
    return state


class TokenRecorder:
    """Records every access token an in-thread emulator signs (the exact strings to hunt)."""

    def __init__(self, emulator: EmulatorServer) -> None:
        assert emulator.app is not None, "start the emulator first"
        self._tokens = emulator.app.lab.tokens
        self._original = self._tokens.issue
        self._lock = threading.Lock()
        self.issued: list[str] = []

        def recording_issue(*args: Any, **kwargs: Any) -> Any:
            result = self._original(*args, **kwargs)
            with self._lock:
                self.issued.append(result[0])
            return result

        self._tokens.issue = recording_issue  # type: ignore[method-assign]

    def stop(self) -> None:
        self._tokens.issue = self._original  # type: ignore[method-assign]


class CapturingHost(ProviderHost):
    """A `ProviderHost` that keeps every stderr line of the host, not only the last 200."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stderr_lines: list[str] = []

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        if is_stdout:
            super()._pump(stream, is_stdout)
            return
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr_lines.append(line)
            self._stderr_tail.append(line)
        stream.close()
