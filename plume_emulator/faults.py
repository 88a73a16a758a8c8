"""Fault injection rules: which request gets a wrong answer, a delay or a cut connection.

A rule matches on method (``*`` = any) and path: the route template (e.g.
``/api/Customers/{customerId}``) or an fnmatch glob tried on both the template
and the actual path. The first matching rule that fires wins; ``times`` counts
down, ``probability`` draws from a (seedable) random generator.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from plume_emulator.models import FaultRuleBody


@dataclass
class FaultRule:
    """A rule plus its bookkeeping (remaining shots, how often it fired)."""

    spec: FaultRuleBody
    remaining: int | None
    fired: int = 0
    _glob: bool = field(init=False)

    def __post_init__(self) -> None:
        self._glob = any(ch in self.spec.path for ch in "*?[")

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.spec.method not in ("*", method) and self.spec.method.upper() != method:
            return False
        if self.spec.path in (template, path):
            return True
        return self._glob and (
            fnmatch.fnmatchcase(template, self.spec.path)
            or fnmatch.fnmatchcase(path, self.spec.path)
        )

    def describe(self) -> dict[str, Any]:
        return {**self.spec.model_dump(), "remaining": self.remaining, "fired": self.fired}


class Faults:
    """The active rule set."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def set(self, rules: list[FaultRuleBody]) -> None:
        """Replace the rule set."""
        with self._lock:
            self._rules = [FaultRule(spec, spec.times) for spec in rules]

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def pick(self, method: str, template: str, path: str) -> FaultRuleBody | None:
        """The rule that fires for this request, if any (consumes one of its ``times``)."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.remaining == 0 or not rule.matches(method, template, path):
                    continue
                probability = rule.spec.probability
                if probability is not None and self._random.random() >= probability:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.fired += 1
                return rule.spec
        return None
