"""Fixtures of the emulator tests.

``emulator`` is overridden here: one server per session, reset (fresh seed,
no faults, zero stats, empty WAF window) before each test. Starting a server
per test costs ~0.25 s; a reset costs milliseconds. Tests needing options use
``emulator_factory``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer
from tests.emulator.helpers import Api


@pytest.fixture(scope="session")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    path: Path = tmp_path_factory.mktemp("shared-lab") / "plume.sqlite"
    with EmulatorServer(path, waf_limit=0) as server:
        yield server


@pytest.fixture
def emulator(shared_emulator: EmulatorServer) -> EmulatorServer:
    """The shared server, freshly reset."""
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture(scope="session")
def _lab_api(shared_emulator: EmulatorServer) -> Iterator[Api]:
    view = Api(shared_emulator)
    yield view
    view.close()


@pytest.fixture(scope="session")
def _other_api(shared_emulator: EmulatorServer) -> Iterator[Api]:
    view = Api(shared_emulator, "other-partner")
    yield view
    view.close()


@pytest.fixture
def api(emulator: EmulatorServer, _lab_api: Api) -> Api:
    """lab-partner's view of the (reset) emulator."""
    return _lab_api


@pytest.fixture
def other_api(emulator: EmulatorServer, _other_api: Api) -> Api:
    """other-partner's view of the same cloud."""
    return _other_api
