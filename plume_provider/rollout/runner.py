"""One stack's `preview`, `up`, `refresh` or `destroy` on the Automation API, its progress
counted from the engine's events.

`SessionCommand` runs each CLI in a session of its own, so a Ctrl-C at the terminal reaches the
rollout only, and `interrupt()` hands each running CLI exactly one SIGINT: the CLI's own graceful
cancel (it finishes the steps in flight, writes the state and releases the lock). A second SIGINT
would make the CLI stop at once and leave pending operations, so it is never sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode
from pulumi.automation.errors import create_command_error

from plume_provider.fleet.stack_state import CUSTOMER_PREFIX, cli_environment

__all__ = ["VERBS", "CountedStack", "SessionCommand", "StackProgress", "Verb", "run_stack"]

Verb = Literal["preview", "up", "refresh", "destroy"]
VERBS: tuple[Verb, ...] = ("preview", "up", "refresh", "destroy")
State = Literal["waiting", "running", "done", "failed", "interrupted", "not started"]
_ERROR_LINES = 3


class SessionCommand(auto.PulumiCommand):
    """The Pulumi CLI, each run in a new session and tracked, so SIGINT is ours to send."""

    def __init__(self, root: str | None = None) -> None:
        super().__init__(root=root, skip_version_check=True)
        self._running: dict[int, subprocess.Popen[str]] = {}
        self._interrupted: set[int] = set()
        self._lock = threading.Lock()

    def interrupt(self) -> int:
        """One SIGINT to every running CLI not interrupted yet; how many got one."""
        with self._lock:
            fresh = [p for pid, p in self._running.items() if pid not in self._interrupted]
            for process in fresh:
                self._interrupted.add(process.pid)
                process.send_signal(signal.SIGINT)
        return len(fresh)

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Callable[[str], Any] | None = None,
        on_error: Callable[[str], Any] | None = None,
    ) -> auto.CommandResult:
        argv = [self.command, "--non-interactive", *args]
        env = cli_environment({**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"})
        if os.path.isabs(self.command):
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env.get("PATH", "")])
        with subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        ) as process:
            with self._lock:
                self._running[process.pid] = process
            try:
                out: list[str] = []
                err: list[str] = []
                readers = [
                    threading.Thread(target=_lines, args=(process.stdout, on_output, out)),
                    threading.Thread(target=_lines, args=(process.stderr, on_error, err)),
                ]
                for reader in readers:
                    reader.start()
                for reader in readers:
                    reader.join()
                code = process.wait()
            finally:
                with self._lock:
                    self._running.pop(process.pid, None)
                    self._interrupted.discard(process.pid)
        result = auto.CommandResult(stdout="\n".join(out), stderr="\n".join(err), code=code)
        if code != 0:
            raise create_command_error(result)
        return result


class CountedStack(auto.Stack):
    """A stack whose `up`, `refresh` and `destroy` end with the CLI's own exit.

    The SDK's `Stack` follows each of them with three more CLI runs (`stack output` twice, one
    of them decrypting, and `stack history`) to fill result fields the rollout never reads;
    each is a CLI start and a load of the whole state from the backend, per stack. The rollout
    counts progress from the engine's events instead: here the outputs answer empty, and the
    summary says only what is known without a read (the SDK asks for it after the CLI exited
    0): the kind of the run, its times, and that it succeeded.
    """

    _KINDS: Final = {"up": "update", "refresh": "refresh", "destroy": "destroy"}

    def __init__(self, name: str, workspace: auto.Workspace, mode: StackInitMode) -> None:
        super().__init__(name, workspace, mode)
        self._kind = "update"
        self._started = datetime.now(UTC)

    @classmethod
    def select(cls, stack_name: str, workspace: auto.Workspace) -> CountedStack:
        return cls(stack_name, workspace, StackInitMode.SELECT)

    def run(self, verb: Verb, on_event: Callable[[auto.EngineEvent], None]) -> None:
        """`verb` on the stack, its events to `on_event`; never asks the CLI to show a secret
        (the SDK's default decrypts the stack config for its summary)."""
        self._kind = self._KINDS.get(verb, verb)
        self._started = datetime.now(UTC)
        if verb == "preview":
            self.preview(on_event=on_event, color="never")
        elif verb == "up":
            self.up(on_event=on_event, color="never", show_secrets=False)
        elif verb == "refresh":
            self.refresh(on_event=on_event, color="never", show_secrets=False)
        else:
            self.destroy(on_event=on_event, color="never", show_secrets=False)

    def outputs(self) -> auto.OutputMap:
        return {}

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        return auto.UpdateSummary(
            kind=self._kind,
            start_time=self._started,
            message="",
            environment={},
            config={},
            result="succeeded",
            end_time=datetime.now(UTC),
        )


def _lines(stream: Any, callback: Callable[[str], Any] | None, into: list[str]) -> None:
    for line in iter(stream.readline, ""):
        text = line.rstrip("\n")
        if callback is not None:
            callback(text)
        into.append(text)
    stream.close()


@dataclass
class StackProgress:
    """What the live view shows of one stack."""

    name: str
    customers: int | None
    state: State = "waiting"
    ops: Counter[str] = field(default_factory=Counter)
    customers_done: int = 0
    started: float | None = None
    finished: float | None = None
    error: str = ""

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started


def _on_event(progress: StackProgress, errors: list[str]) -> Callable[[auto.EngineEvent], None]:
    def seen(event: auto.EngineEvent) -> None:
        if event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            progress.ops[str(meta.op.value if hasattr(meta.op, "value") else meta.op)] += 1
            if meta.urn.rsplit("::", 1)[-1].startswith(CUSTOMER_PREFIX):
                progress.customers_done += 1
        elif event.res_op_failed_event is not None:
            progress.ops["failed"] += 1
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            message = event.diagnostic_event.message.strip()
            if message:
                errors.append(message)

    return seen


def run_stack(
    verb: Verb,
    progress: StackProgress,
    project: Path,
    command: SessionCommand,
    env: Mapping[str, str],
) -> None:
    """Run `verb` on the stack, updating `progress`; failures end in `progress.error`."""
    progress.state = "running"
    progress.started = time.monotonic()
    errors: list[str] = []
    try:
        workspace = auto.LocalWorkspace(
            work_dir=str(project), pulumi_command=command, env_vars=dict(env)
        )
        stack = CountedStack.select(progress.name, workspace)
        stack.run(verb, _on_event(progress, errors))
    except auto.ConcurrentUpdateError:
        progress.state = "failed"
        progress.error = (
            "another update holds the stack's lock; let it finish (pulumi stack history), or, "
            "if no update runs, pulumi cancel / the backend's lock removal, then rerun"
        )
    except auto.CommandError as err:
        progress.state = "failed"
        progress.error = _summary(errors, str(err))
    else:
        progress.state = "done"
    finally:
        progress.finished = time.monotonic()


def _summary(errors: list[str], fallback: str) -> str:
    """The engine's error lines, else the last lines the CLI printed."""
    lines = [line for message in errors for line in message.splitlines() if line.strip()]
    if not lines:
        lines = [line for line in fallback.splitlines() if line.strip()]
    return " | ".join(line.strip() for line in lines[-_ERROR_LINES:])
