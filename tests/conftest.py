"""Fixtures shared by the whole suite: a clean client process state, emulators on free loopback
ports, lab credentials."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client._auth import clear_token_cache
from plume_provider.client._ratelimit import clear_buckets

EmulatorFactory = Callable[..., EmulatorServer]


@pytest.fixture(autouse=True)
def _clean_client_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No PLUME_* variable of the developer's shell leaks in; no token or rate bucket survives
    a test (both are process-wide by design); the machine's rate budget of a test (and of the
    processes it starts) is a file of its own, never the user's cache."""
    for key in list(os.environ):
        if key.startswith("PLUME_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    clear_token_cache()
    clear_buckets()
    yield
    clear_token_cache()
    clear_buckets()


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
