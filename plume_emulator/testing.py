"""Run an emulator from tests or benchmarks.

* :class:`EmulatorServer`: uvicorn in a background thread of this process
  (fast; accepts a :class:`~plume_emulator.options.ManualClock`).
* :class:`EmulatorProcess`: ``python -m plume_emulator --port 0`` as a subprocess
  (the real command line; what benchmarks and labs use).

Both bind a free loopback port, wait for ``/_emulator/health`` (no fixed
sleeps), expose ``url``/``api_url``/``token_url`` and the control helpers, and
stop what they started on exit. :func:`wait_until` is that wait, for any server
a test starts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn

from plume_emulator.app import create_app
from plume_emulator.cli import bind
from plume_emulator.gateway import Gateway
from plume_emulator.options import EmulatorOptions

STARTUP_TIMEOUT = 20.0

__all__ = ["EmulatorProcess", "EmulatorServer", "LabCredentials", "Service", "wait_until"]


def wait_until(
    ready: Callable[[], bool],
    *,
    alive: Callable[[], bool],
    timeout: float,
    exited: str,
    timed_out: str,
    transient: tuple[type[Exception], ...] = (),
    interval: float = 0.0,
) -> None:
    """Call ``ready()`` until it answers true: a server started by a test or a benchmark is
    up. ``RuntimeError(exited)`` once ``alive()`` is false (the server died), and
    ``RuntimeError(timed_out)`` after ``timeout`` seconds; an error of a ``transient`` type
    counts as not ready yet, and is raised itself when it comes after the timeout. ``interval``
    is the pause between calls (none when ``ready`` blocks on its own timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        if not alive():
            raise RuntimeError(exited)
        try:
            if ready():
                return
        except transient:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(timed_out)
        if interval:
            time.sleep(interval)


@dataclass(frozen=True)
class LabCredentials:
    """What a client needs to talk to one partner of a running emulator."""

    token_url: str
    api_url: str
    client_id: str
    client_secret: str
    partner_id: str

    @property
    def auth_header(self) -> str:
        """``Basic base64(clientId:clientSecret)``, as Plume hands it out."""
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


PARTNERS = {
    "lab-partner": ("lab-client", "lab-secret"),
    "other-partner": ("other-client", "other-secret"),
    "locked-partner": ("locked-client", "locked-secret"),
}


class Service:
    """A server a test or a benchmark starts and must stop: ``with Server() as server`` is
    ``server.start()`` (returning the server once it is healthy), then ``server.stop()``
    however the block ends. The emulator's runners and the test kit's servers share it."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Controls(Service):
    """URL properties and ``/_emulator`` helpers shared by both runners."""

    url: str = ""
    _http: httpx.Client | None = None

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    @property
    def token_url(self) -> str:
        return self.url + "/oauth2/token"

    def credentials(self, partner_id: str = "lab-partner") -> LabCredentials:
        """Client credentials of a seeded partner."""
        client_id, secret = PARTNERS[partner_id]
        return LabCredentials(self.token_url, self.api_url, client_id, secret, partner_id)

    @property
    def http(self) -> httpx.Client:
        """An httpx client for the control routes (created on first use)."""
        if self._http is None:
            # verify=False: plain HTTP on loopback, and it skips loading a CA bundle (~50 ms)
            self._http = httpx.Client(base_url=self.url, timeout=30.0, verify=False)
        return self._http

    def _close_http(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _wait_healthy(self, alive: Callable[[], bool]) -> None:
        """Poll ``/_emulator/health``; the socket already listens, so a request just queues."""
        wait_until(
            lambda: self.http.get("/_emulator/health", timeout=1.0).status_code == 200,
            alive=alive,
            timeout=STARTUP_TIMEOUT,
            transient=(httpx.TransportError,),
            exited="plume emulator exited during startup",
            timed_out=f"plume emulator at {self.url} did not become healthy",
        )

    def stats(self) -> dict[str, Any]:
        """``GET /_emulator/stats``."""
        response = self.http.get("/_emulator/stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def state(self) -> dict[str, Any]:
        """``GET /_emulator/state``."""
        response = self.http.get("/_emulator/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Replace the fault rules (``POST /_emulator/faults``)."""
        self.http.post("/_emulator/faults", json={"rules": rules}).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete("/_emulator/faults").raise_for_status()

    def reset_stats(self) -> None:
        self.http.delete("/_emulator/stats").raise_for_status()

    def reset(self) -> None:
        """Fresh seed data, no faults, zero stats (``POST /_emulator/reset``)."""
        self.http.post("/_emulator/reset").raise_for_status()

    def mint_token(self, **claims: Any) -> str:
        """A signed token with chosen claims (``POST /_emulator/tokens``)."""
        response = self.http.post("/_emulator/tokens", json=claims)
        response.raise_for_status()
        return str(response.json()["access_token"])


class _ThreadServer(uvicorn.Server):
    """uvicorn's server, stoppable from another thread without waiting for its 0.1 s tick."""

    _loop: asyncio.AbstractEventLoop | None = None
    _exit: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter += 10  # one wake-up per second keeps the Date header fresh
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0)

    def request_exit(self) -> None:
        """Ask the server to stop (thread-safe)."""
        self.should_exit = True
        loop, event = self._loop, self._exit
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)


class EmulatorServer(_Controls):
    """An emulator served by uvicorn in a daemon thread on a free 127.0.0.1 port.

    ``db_path`` None uses a temporary directory removed on stop. ``options`` are
    :class:`EmulatorOptions` fields (``token_ttl``, ``clock``, ``waf_limit`` ...).
    """

    def __init__(self, db_path: Path | None = None, **options: Any) -> None:
        self._tmp = None if db_path is not None else tempfile.mkdtemp(prefix="plume-emulator-")
        path = db_path if db_path is not None else Path(self._tmp or ".") / "plume.sqlite"
        self.options = EmulatorOptions(db_path=path, **options)
        self.db_path = path
        self.app: Gateway | None = None
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Create the app, serve it, wait until healthy."""
        self.app = create_app(self.options)
        sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"plume-emulator {self.url}",
        )
        self._thread.start()
        thread = self._thread
        try:
            self._wait_healthy(thread.is_alive)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, join its thread, close the database."""
        self._close_http()
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        self._server = None
        if self.app is not None:
            self.app.close()
            self.app = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


_FLAGS = {
    "token_ttl": "--token-ttl",
    "already_claimed_status": "--already-claimed-status",
    "pods_authorized": "--pods-authorized",
    "waf_limit": "--waf-limit",
    "waf_window": "--waf-window",
    "latency_ms": "--latency-ms",
    "inventory": "--inventory",
    "fault_seed": "--fault-seed",
    "log_level": "--log-level",
}


class EmulatorProcess(_Controls):
    """``python -m plume_emulator --port 0`` in a subprocess, same interface as the server.

    ``options``: ``db_path``, ``reset`` and the CLI flags by their option names
    (``token_ttl=60``, ``waf_limit=0`` ...). ``first_line`` keeps what it printed.
    """

    def __init__(self, **options: Any) -> None:
        db_path = options.pop("db_path", None)
        self._tmp = None if db_path is not None else tempfile.mkdtemp(prefix="plume-emulator-")
        self.db_path = (
            Path(db_path) if db_path is not None else Path(self._tmp or ".") / "plume.sqlite"
        )
        self.argv = [
            sys.executable,
            "-m",
            "plume_emulator",
            "--port",
            "0",
            "--db",
            str(self.db_path),
        ]
        if options.pop("reset", False):
            self.argv.append("--reset")
        for name, value in options.items():
            if name not in _FLAGS:
                raise TypeError(f"EmulatorProcess has no option {name!r}")
            if value is not None:
                self.argv += [_FLAGS[name], str(value)]
        self.process: subprocess.Popen[str] | None = None
        self.first_line = ""

    def start(self) -> Self:
        """Spawn, read the first line for the URL, wait until healthy."""
        self.process = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().rstrip("\n")
        prefix = "plume-emulator listening on "
        if not self.first_line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"plume emulator did not start: {self.first_line!r}")
        self.url = self.first_line[len(prefix) :]
        stdout = self.process.stdout
        threading.Thread(target=stdout.read, daemon=True, name="plume-emulator-stdout").start()
        process = self.process
        try:
            self._wait_healthy(lambda: process.poll() is None)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the subprocess (kill if it does not exit) and clean up."""
        self._close_http()
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
