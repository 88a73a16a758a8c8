"""The real Pulumi CLI against the emulator (``plume_testkit.cli_lab.CliLab``): a copy of the
project with a local file backend, a passphrase and a ``PULUMI_HOME`` of the test's own, and
never the network. Each operation also writes the engine's event log, from which ``CliRun``
reads what a test asserts.

Where Go is present and no CLI is built, the tests fail (CI must build the CLI); only a machine
with neither Go nor a CLI skips them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.cli import find_cli
from plume_testkit.cli_lab import CliLab
from plume_testkit.postgres_server import PostgresServer


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    cli = find_cli()
    if cli is None:
        if shutil.which("go"):
            pytest.fail("Go is installed but no Pulumi CLI is built: run `make pulumi-cli`")
        pytest.skip("neither Go nor a Pulumi CLI on this machine: the real-CLI tests cannot run")
    return cli


@pytest.fixture
def cli_lab(
    pulumi_cli: Path, emulator: EmulatorServer, lab_credentials: LabCredentials, tmp_path: Path
) -> Iterator[CliLab]:
    """The lab stack (empty state) on the real CLI against a fresh emulator."""
    lab = CliLab(pulumi_cli, tmp_path, emulator, lab_credentials)
    yield lab
    lab.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (temporary directory, free loopback port). Its
    absence fails the tests with the install command: the team backend is never skipped."""
    try:
        server = PostgresServer()
    except FileNotFoundError as missing:
        pytest.fail(str(missing))
    with server:
        yield server
