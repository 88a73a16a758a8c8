"""Fault injection rules: which request gets a wrong answer, a delay or a cut connection.

A rule matches on method (``*`` = any) and path: the route template (e.g.
``/api/Customers/{customerId}``) or an fnmatch glob tried on both the template
and the actual path. The first matching rule that fires wins; ``times`` counts
down, ``probability`` draws from a (seedable) random generator.

A rule set is checked when it is set (:func:`rule_problems`): anything the HTTP
server could not send as asked (a header name or value HTTP does not allow, a
header the server owns, a ``drop`` of a response that has no body) is a 422
then, instead of a 500 or a cut connection on the request it hits.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from plume_emulator.errors import invalid
from plume_emulator.models import FaultRuleBody

HEADER_NAME = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
"""An HTTP field name (RFC 9110 ``token``)."""

SERVER_OWNED_HEADERS = frozenset(
    {
        # hop-by-hop (RFC 2616 13.5.1, and the non-standard Proxy-Connection)
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        # framing: the emulator sets the length of the body it sends
        "content-length",
    }
)

BODILESS_STATUSES = frozenset({204, 304})


def _value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a header value, or None."""
    for char in value:
        if char != "\t" and not (" " <= char <= "~" or "\xa0" <= char <= "\xff"):
            if char > "\xff":
                return f"contains {char!r}, which is not latin-1 (HTTP headers are bytes)"
            return f"contains the control character {char!r} (no CR, LF or other controls)"
    if value != value.strip(" \t"):
        return "starts or ends with whitespace"
    return None


def rule_problems(index: int, spec: FaultRuleBody) -> list[str]:
    """What is wrong with rule ``index`` of a rule set (empty when it can be served)."""
    where = f"rules.{index}"  # pydantic's spelling of locations, as in the other 422s
    problems = []
    for name, value in spec.headers.items():
        if not HEADER_NAME.fullmatch(name):
            problems.append(
                f"{where}.headers: {name!r} is not a header name (letters, digits and "
                "!#$%&'*+-.^_`|~ only)"
            )
        elif name.lower() in SERVER_OWNED_HEADERS:
            problems.append(
                f"{where}.headers: {name} is a hop-by-hop or length header the server sets "
                "itself; leave it out"
            )
        problem = _value_problem(value)
        if problem is not None:
            problems.append(f"{where}.headers.{name}: the value {value!r} {problem}")
    if spec.drop and spec.status in BODILESS_STATUSES:
        problems.append(
            f"{where}: drop with status {spec.status} cannot cut a response that has no body; "
            "use another status, or leave status out"
        )
    return problems


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
        """Replace the rule set; a 422 naming every problem (and no change) if one is invalid."""
        problems = [problem for i, spec in enumerate(rules) for problem in rule_problems(i, spec)]
        if problems:
            raise invalid(f"invalid fault rules: {'; '.join(problems)}")
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
