"""What one ``pulumi`` command did: its exit status, the text the user reads, its wall time and
the engine's event log (``--event-log``), read into the steps, summary and diagnostics tests
assert on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .lab_fleet import CUSTOMER_TYPE, NODE_TYPE

__all__ = ["CliError", "CliRun"]


@dataclass
class CliRun:
    """One finished CLI command: exit code, the user's text, and the engine's events."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0
    """From process start to exit, as a user waits."""
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(op, urn) of every step, in the order the engine finished them."""
        done = []
        for event in self.events:
            outputs = event.get("resOutputsEvent")
            if outputs:
                done.append((outputs["metadata"]["op"], outputs["metadata"]["urn"]))
        return done

    @property
    def started(self) -> list[tuple[str, str]]:
        """(op, urn) of every step, in the order the engine started them."""
        return [
            (e["resourcePreEvent"]["metadata"]["op"], e["resourcePreEvent"]["metadata"]["urn"])
            for e in self.events
            if "resourcePreEvent" in e
        ]

    def urns(self, op: str) -> list[str]:
        """URNs of the Plume resources with that op, in finishing order."""
        return [urn for step_op, urn in self.steps if step_op == op and _is_plume(urn)]

    @property
    def summary(self) -> dict[str, int]:
        """The engine's own change summary, as the CLI prints it (the stack resource included)."""
        for event in reversed(self.events):
            summary = event.get("summaryEvent")
            if summary:
                return dict(summary["resourceChanges"])
        return {}

    @property
    def counts(self) -> dict[str, int]:
        """Steps per op over the Plume resources (``same`` included)."""
        return dict(Counter(op for op, urn in self.steps if _is_plume(urn)))

    @property
    def changes(self) -> dict[str, int]:
        """``counts`` without ``same``: what the run changed (or would change)."""
        return {op: n for op, n in self.counts.items() if op != "same"}

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        return [e["diagnosticEvent"] for e in self.events if "diagnosticEvent" in e]

    def messages(self, severity: str) -> str:
        return "".join(d["message"] for d in self.diagnostics if d.get("severity") == severity)


class CliError(AssertionError):
    """A command exited non-zero; the message has its output (the last ``tail`` lines if set)."""

    def __init__(self, run: CliRun, tail: int | None = None) -> None:
        output = run.output if tail is None else "\n".join(run.output.splitlines()[-tail:])
        super().__init__(f"pulumi {' '.join(run.args)} exited {run.returncode}:\n{output}")
        self.run = run


def _is_plume(urn: str) -> bool:
    return f"::{CUSTOMER_TYPE}::" in urn or f"::{NODE_TYPE}::" in urn
