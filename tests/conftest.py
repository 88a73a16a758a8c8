"""Fixtures shared by the whole suite: emulators on free loopback ports, lab credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials

EmulatorFactory = Callable[..., EmulatorServer]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A running emulator with a fresh database, stopped after the test."""
    with EmulatorServer(tmp_path / "plume.sqlite") as server:
        yield server


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[EmulatorFactory]:
    """Start emulators with options (``token_ttl=1``, ``db_path=...``); all stopped at teardown."""
    servers: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        db_path = options.pop("db_path", None) or tmp_path / f"plume-{len(servers)}.sqlite"
        server = EmulatorServer(db_path, **options)
        servers.append(server)
        return server.start()

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def lab_credentials(emulator: EmulatorServer) -> LabCredentials:
    """token_url, api_url, client id/secret, partner id and Basic header of ``lab-partner``."""
    return emulator.credentials("lab-partner")
