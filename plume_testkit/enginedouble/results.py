"""What a run of the engine double reports: its steps, provider calls, errors and outputs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MUTATING_CALLS", "EngineError", "ResourceError", "RunResult"]

MUTATING_CALLS = frozenset({"Create", "Update", "Delete"})
"""Provider calls that change the outside world (Read is not one: refresh and import use it)."""


@dataclass(frozen=True)
class ResourceError:
    """One failed step: the resource, the operation and the provider's (or engine's) message."""

    urn: str
    op: str
    message: str
    details: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.urn} [{self.op}]: {self.message}"


@dataclass
class RunResult:
    """What a run did.

    ``steps`` are (op, urn) in completion order; ops are ``create``, ``update``, ``replace``
    (the replacement was created), ``delete-replaced`` (the replaced copy was deleted),
    ``delete``, ``same``, ``import``, ``retain`` (dropped from state without Delete: the
    resource has ``retainOnDelete``); for a preview they are the planned steps; for refresh
    ``same`` / ``update`` (the live outputs changed) / ``delete`` (gone).  ``calls`` are the
    provider calls made over gRPC during the run, as (method, urn); ``host_log`` what the
    dynamic-provider host wrote to stderr meanwhile (provider warnings, tracebacks).
    """

    operation: str
    steps: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[ResourceError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    host_log: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        """Number of steps per op."""
        return dict(Counter(op for op, _ in self.steps))

    @property
    def changes(self) -> dict[str, int]:
        """``counts`` without ``same``."""
        return {op: n for op, n in self.counts.items() if op != "same"}

    @property
    def mutating_calls(self) -> list[tuple[str, str]]:
        """Create/Update/Delete calls made to providers."""
        return [call for call in self.calls if call[0] in MUTATING_CALLS]

    def urns(self, op: str) -> list[str]:
        """URNs of the steps with ``op``."""
        return [urn for step_op, urn in self.steps if step_op == op]


class EngineError(Exception):
    """A run failed; ``result`` has the steps that did complete and every error."""

    def __init__(self, result: RunResult) -> None:
        lines = [f"{result.operation} failed with {len(result.errors)} error(s):"]
        lines += [f"  - {error}" for error in result.errors]
        super().__init__("\n".join(lines))
        self.result = result
