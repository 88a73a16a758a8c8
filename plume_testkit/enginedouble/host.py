"""Drive the real Pulumi dynamic-provider host (``python -m pulumi.dynamic``) over gRPC.

The Pulumi CLI starts this very process for every ``pulumi-python`` dynamic resource and talks
to it over the ResourceProvider gRPC protocol.  ``ProviderHost`` does the same from a test: it
starts the host as a subprocess (repo root on ``PYTHONPATH`` so ``plume_provider`` and test-only
providers import), reads the port from the first stdout line, and exposes the provider calls as
methods taking and returning plain Python dicts.  Properties must carry ``__provider`` (the
serialized provider string) exactly as the engine sends it; secrets are unwrapped first because
the dynamic host answers ``acceptSecrets: false`` and the engine then strips them.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import grpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from plume_emulator.testing import Service
from plume_testkit import REPO_ROOT

from .environment import python_env
from .wire import from_struct, to_struct

__all__ = [
    "CheckFailure",
    "CheckOutcome",
    "DiffOutcome",
    "ProviderError",
    "ProviderHost",
    "ReadOutcome",
    "parse_exception",
]

_STARTUP_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 10.0
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$", re.DOTALL)


class ProviderError(Exception):
    """A provider call failed; ``message`` is the provider's exception text.

    The dynamic host aborts the call with the whole traceback as the gRPC details; ``details``
    keeps it, ``exception_type`` is the exception's (qualified) class name and ``message`` its
    ``str()`` (what the Pulumi CLI shows the user as the resource's error).
    """

    def __init__(
        self,
        method: str,
        urn: str,
        message: str,
        *,
        exception_type: str | None = None,
        details: str = "",
        code: grpc.StatusCode | None = None,
    ) -> None:
        super().__init__(f"{method} {urn}: {message}")
        self.method = method
        self.urn = urn
        self.message = message
        self.exception_type = exception_type
        self.details = details
        self.code = code


@dataclass(frozen=True)
class CheckFailure:
    """One validation failure returned by ``check``."""

    property: str
    reason: str


@dataclass(frozen=True)
class CheckOutcome:
    """Result of Check: the inputs to use (with ``__provider``) and any failures."""

    inputs: dict[str, Any]
    failures: list[CheckFailure] = field(default_factory=list)


@dataclass(frozen=True)
class DiffOutcome:
    """Result of Diff. ``changes`` is None when the provider could not tell (DIFF_UNKNOWN)."""

    changes: bool | None
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    stables: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOutcome:
    """Result of Read: ``id`` is "" when the resource is gone; ``inputs`` None if not returned."""

    id: str
    outs: dict[str, Any]
    inputs: dict[str, Any] | None


def parse_exception(details: str) -> tuple[str | None, str]:
    """Split a Python traceback into (exception type, exception message).

    The final exception is the text after the last indented (frame/source) line; its first line
    is ``Type: message``.  Multi-line messages are kept whole.  Text that is not a traceback is
    returned unchanged as the message.
    """
    text = details.strip()
    if "Traceback (most recent call last):" not in text:
        return None, text
    lines = text.splitlines()
    start = 0
    for index, line in enumerate(lines):
        if line.startswith((" ", "\t")) or line.startswith("Traceback (most recent call last):"):
            start = index + 1
    tail = "\n".join(lines[start:]).strip()
    match = _EXC_LINE.match(tail)
    if not match:
        return None, tail
    return match.group("type"), (match.group("message") or "").strip()


class ProviderHost(Service):
    """The real dynamic-provider host as a subprocess, driven over gRPC (context manager).

    ``extra_paths`` are prepended to ``PYTHONPATH`` (after the repo root); ``env`` adds
    variables (``PULUMI_PROJECT`` defaults to ``project``, as the CLI sets it for plugins).
    Methods are thread-safe: the host serves four calls at once, like under the CLI.
    """

    def __init__(
        self,
        *,
        project: str = "plume-fleet",
        cwd: Path | None = None,
        extra_paths: list[Path] | None = None,
        env: Mapping[str, str] | None = None,
        call_timeout: float = 120.0,
    ) -> None:
        self.project = project
        self.cwd = cwd or REPO_ROOT
        self.extra_paths = list(extra_paths or [])
        self.extra_env = dict(env or {})
        self.call_timeout = call_timeout
        self.port: int | None = None
        self.calls: list[tuple[str, str]] = []
        """Every call made, as (method, urn), in order (for assertions)."""
        self._calls_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._stderr_tail: deque[str] = deque(maxlen=5000)
        self._stderr_count = 0
        self._stdout_lines: queue.Queue[str | None] = queue.Queue()
        self._readers: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the host and connect; returns self."""
        if self._process is not None:
            raise RuntimeError("provider host already started")
        env = python_env(*self.extra_paths)
        env.setdefault("PULUMI_PROJECT", self.project)
        env.update(self.extra_env)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(self._process.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(self._process.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        try:
            first = self._stdout_lines.get(timeout=_STARTUP_TIMEOUT_SECONDS)
        except queue.Empty:
            self.stop()
            raise RuntimeError("dynamic provider host printed no port line") from None
        if first is None or not first.strip().isdigit():
            self.stop()
            raise RuntimeError(
                f"dynamic provider host did not start (first line {first!r}); "
                f"stderr:\n{self.stderr_text()}"
            )
        self.port = int(first.strip())
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=_STARTUP_TIMEOUT_SECONDS)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        """Drain one pipe so the host never blocks on a full pipe (the CLI does the same)."""
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if is_stdout:
                self._stdout_lines.put(line)
            else:
                with self._calls_lock:
                    self._stderr_tail.append(line)
                    self._stderr_count += 1
        if is_stdout:
            self._stdout_lines.put(None)
        stream.close()

    def stderr_text(self) -> str:
        """The last lines the host wrote to stderr (provider logs, tracebacks)."""
        with self._calls_lock:
            return "\n".join(self._stderr_tail)

    def stderr_mark(self) -> int:
        """A position in the host's stderr, for ``stderr_since``."""
        with self._calls_lock:
            return self._stderr_count

    def stderr_since(self, mark: int) -> str:
        """What the host wrote to stderr after ``mark`` (lines are read as they arrive, so
        only what the host has flushed; everything once the host has stopped)."""
        with self._calls_lock:
            kept_from = self._stderr_count - len(self._stderr_tail)
            return "\n".join(list(self._stderr_tail)[max(0, mark - kept_from) :])

    def stop(self) -> None:
        """Close the channel and stop the subprocess (terminate, wait, then kill)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        for reader in self._readers:
            reader.join(timeout=_STOP_TIMEOUT_SECONDS)
        self._readers = []

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._process is not None and self._process.poll() is None

    # -- calls -------------------------------------------------------------------------------

    def _call(self, method: str, urn: str, request: Any) -> Any:
        if self._stub is None:
            raise RuntimeError("provider host is not started")
        with self._calls_lock:
            self.calls.append((method, urn))
        try:
            return getattr(self._stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as err:
            details = str(err.details() or "") if hasattr(err, "details") else str(err)
            code = err.code() if hasattr(err, "code") else None
            exc_type, message = parse_exception(details)
            raise ProviderError(
                method, urn, message, exception_type=exc_type, details=details, code=code
            ) from None

    def configure(self, config: Mapping[str, str]) -> None:
        """Configure: ``args`` is the stack config (namespaced keys, string values)."""
        args = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in config.items()
        }
        request = provider_pb2.ConfigureRequest(
            args=to_struct(args),
            variables=args,
            acceptSecrets=True,
            acceptResources=True,
        )
        self._call("Configure", "", request)

    def check(
        self, urn: str, olds: Mapping[str, Any] | None, news: Mapping[str, Any]
    ) -> CheckOutcome:
        """Check ``news`` (against prior inputs ``olds``); returns the inputs to use."""
        response = self._call(
            "Check",
            urn,
            provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news)),
        )
        failures = [CheckFailure(f.property, f.reason) for f in response.failures]
        return CheckOutcome(from_struct(response.inputs), failures)

    def diff(
        self,
        urn: str,
        id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> DiffOutcome:
        """Diff the saved outputs ``olds`` against checked inputs ``news``."""
        request = provider_pb2.DiffRequest(
            id=id, urn=urn, olds=to_struct(olds), news=to_struct(news)
        )
        if old_inputs is not None:
            request.old_inputs.CopyFrom(to_struct(old_inputs))
        response = self._call("Diff", urn, request)
        changes: bool | None
        if response.changes == provider_pb2.DiffResponse.DIFF_SOME:
            changes = True
        elif response.changes == provider_pb2.DiffResponse.DIFF_NONE:
            changes = False
        else:
            changes = None
        return DiffOutcome(
            changes=changes,
            replaces=list(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
            stables=list(response.stables),
        )

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create; returns (id, outputs incl. ``__provider``)."""
        response = self._call(
            "Create", urn, provider_pb2.CreateRequest(urn=urn, properties=to_struct(props))
        )
        return response.id, from_struct(response.properties)

    def read(
        self,
        urn: str,
        id: str,
        props: Mapping[str, Any] | None,
        inputs: Mapping[str, Any] | None = None,
    ) -> ReadOutcome:
        """Read live state (refresh / import). ``id`` "" in the outcome means it is gone."""
        request = provider_pb2.ReadRequest(id=id, urn=urn, properties=to_struct(props))
        if inputs is not None:
            request.inputs.CopyFrom(to_struct(inputs))
        response = self._call("Read", urn, request)
        new_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return ReadOutcome(response.id, from_struct(response.properties), new_inputs)

    def update(
        self, urn: str, id: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Update from saved outputs ``olds`` to checked inputs ``news``; returns outputs."""
        response = self._call(
            "Update",
            urn,
            provider_pb2.UpdateRequest(id=id, urn=urn, olds=to_struct(olds), news=to_struct(news)),
        )
        return from_struct(response.properties)

    def delete(self, urn: str, id: str, props: Mapping[str, Any]) -> None:
        """Delete the resource ``id`` given its saved outputs."""
        self._call(
            "Delete", urn, provider_pb2.DeleteRequest(id=id, urn=urn, properties=to_struct(props))
        )
