"""``python -m plume_emulator`` start-up: problems are one line naming the fix, never a traceback;
a ``--db`` in a missing directory is created and start-up says so."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.emulator.helpers import HTTP

LISTENING = "plume-emulator listening on "


def emulator_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plume_emulator", *args]


def run_failing_start(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the emulator with options it cannot start with; it must exit by itself."""
    return subprocess.run(
        emulator_command(*args), capture_output=True, text=True, timeout=60, check=False
    )


def assert_one_line_naming_the_fix(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == "", "nothing claims to be listening"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("plume-emulator: "), line
    assert "Traceback" not in result.stderr
    for mention in (*mentions, "--port 0", "LAB_PORT"):
        assert mention in line, (mention, line)
    return line


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket listens on for the whole test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("port", ["65536", "70000", "-1"])
def test_port_out_of_range_is_one_line_naming_the_fix(tmp_path: Path, port: str) -> None:
    db = tmp_path / "lab.sqlite"
    result = run_failing_start("--port", port, "--db", str(db))
    assert_one_line_naming_the_fix(result, f"--port {port}", "out of range", "0-65535")
    assert not db.exists(), "nothing was opened or created"


def test_port_already_in_use_is_one_line_naming_the_fix(tmp_path: Path, taken_port: int) -> None:
    result = run_failing_start("--port", str(taken_port), "--db", str(tmp_path / "lab.sqlite"))
    assert_one_line_naming_the_fix(result, f"127.0.0.1:{taken_port}", "already in use")


def test_port_already_in_use_leaves_the_database_alone_even_with_reset(
    tmp_path: Path, taken_port: int
) -> None:
    db = tmp_path / "lab.sqlite"
    db.write_bytes(b"the lab of the emulator that holds the port")
    result = run_failing_start("--port", str(taken_port), "--db", str(db), "--reset")
    assert_one_line_naming_the_fix(result, "already in use")
    assert db.read_bytes() == b"the lab of the emulator that holds the port"


class Started:
    """An emulator subprocess whose stdout and stderr are both kept."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen(
            emulator_command("--port", "0", "--db", str(db)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().rstrip("\n")
        assert self.first_line.startswith(LISTENING), self.first_line
        self.url = self.first_line.removeprefix(LISTENING)
        deadline = time.monotonic() + 20
        while True:  # the socket already listens: each attempt waits in the accept queue
            try:
                if HTTP.get(self.url + "/_emulator/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise

    def stop(self) -> str:
        """Terminate; what it wrote to stderr."""
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=20)
        return stderr


def test_db_in_a_missing_directory_is_created_and_start_up_says_so(tmp_path: Path) -> None:
    db = tmp_path / "not" / "there" / "lab.sqlite"
    started = Started(db)
    try:
        assert HTTP.get(started.url + "/_emulator/state").status_code == 200
    finally:
        stderr = started.stop()
    assert db.is_file()
    assert f"created the directory {db.parent} for --db {db}" in stderr, stderr


def test_db_in_an_existing_directory_says_nothing_about_it(tmp_path: Path) -> None:
    db = tmp_path / "lab.sqlite"
    started = Started(db)
    stderr = started.stop()
    assert db.is_file()
    assert "created the directory" not in stderr, stderr
