"""The fleet a stack declares (`plume-fleet:customers`), validated as a whole before any resource.

Field rules are the client's own input types (quotes, email, serial), so the fleet and the API
calls can never disagree; on top of them the fleet checks what only the whole list can show: an
accountId or a serial declared twice. `load_fleet` reports every problem at once, each with its
path (`customers[2].nodes[0].serialNumber`), so an operator fixes the config in one pass.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from plume_provider.errors import InputValidationError
from plume_provider.models import (
    AcceptLanguage,
    AccountId,
    CustomerId,
    CustomerName,
    Email,
    Nickname,
    OnboardingCheckpoint,
    Profile,
    SerialNumber,
)

__all__ = [
    "FLEET_CONFIG_KEYS",
    "CustomerSpec",
    "Fleet",
    "FleetConfigError",
    "NodeSpec",
    "load_fleet",
]

FLEET_CONFIG_KEYS = ("customers", "protect", "retainOnDelete")


class FleetConfigError(InputValidationError):
    """The stack's fleet config is invalid; `problems` lists each one as `path: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"the fleet in stack config (plume-fleet:*) has {len(problems)} problem(s); "
            f"fix them in stacks/Pulumi.<stack>.yaml and run again:\n{listing}",
            [tuple(problem.split(": ", 1)) for problem in problems],  # type: ignore[misc]
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


class _Spec(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class NodeSpec(_Spec):
    """A gateway or extender to claim at its customer's location."""

    serial_number: SerialNumber
    nickname: Nickname | None = None


class CustomerSpec(_Spec):
    """A customer to register (or adopt, or import) and the nodes to claim for it."""

    account_id: AccountId
    name: CustomerName | None = None
    email: Email | None = None
    profile: Profile = "auto"
    accept_language: AcceptLanguage = "en-US"
    onboarding_checkpoint: OnboardingCheckpoint | None = None
    adopt: StrictBool = False
    import_id: CustomerId | None = None
    nodes: list[NodeSpec] = Field(default_factory=list)


class Fleet(_Spec):
    """Everything a stack declares."""

    customers: list[CustomerSpec] = Field(default_factory=list)
    protect: StrictBool = False
    retain_on_delete: StrictBool = False


def _path(location: Iterable[int | str]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _duplicates(raw: Mapping[str, Any]) -> list[str]:
    """Accounts and serials declared twice, found in the raw config so they are reported
    together with any field problems."""
    problems: list[str] = []
    accounts: defaultdict[str, list[str]] = defaultdict(list)
    serials: defaultdict[str, list[str]] = defaultdict(list)
    for i, customer in enumerate(_items(raw.get("customers"))):
        account = customer.get("accountId")
        if isinstance(account, str):  # anything else already fails validation
            accounts[account].append(f"customers[{i}].accountId")
        for j, node in enumerate(_items(customer.get("nodes"))):
            serial = node.get("serialNumber")
            if isinstance(serial, str):
                serials[serial].append(f"customers[{i}].nodes[{j}].serialNumber")
    for kind, seen in (("accountId", accounts), ("serial", serials)):
        for value, paths in seen.items():
            problems.extend(
                f"{path}: {kind} {value!r} is already declared at {paths[0]}" for path in paths[1:]
            )
    return problems


MAX_NUMBER_DIGITS = 100
"""Longer numbers in the config are kept as `LongNumber`: Python refuses to turn an integer of
more than 4,300 digits into text, and no fleet value needs more than a hundred."""


class LongNumber:
    """A number in the fleet config too long to be any value; validation names it."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<a {self.digits}-digit number>"

    __str__ = __repr__


def _parse_int(text: str) -> int | LongNumber:
    digits = len(text.lstrip("-"))
    return LongNumber(digits) if digits > MAX_NUMBER_DIGITS else int(text)


def _keys_at(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The keys the object at `loc` (the parent of an unknown key) accepts."""
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        model: type[_Spec] = Fleet
    elif names[-1] == "nodes":
        model = NodeSpec
    else:
        model = CustomerSpec
    return tuple(field.alias or name for name, field in model.model_fields.items())


def _unknown_key(key: str, expected: Iterable[str]) -> str:
    choices = list(expected)
    close = difflib.get_close_matches(key, choices, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{guess}; expected one of {', '.join(choices)}"


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        *parent, key = error["loc"]
        return _unknown_key(str(key), _keys_at(tuple(parent)))
    if isinstance(error.get("input"), LongNumber):
        return (
            f"is {error['input']!r}, not a valid value; check the value (quote it if it is "
            "meant as text)"
        )
    return str(error["msg"]).removeprefix("Value error, ")


def load_fleet(config: Mapping[str, str | None]) -> Fleet:
    """Validate the stack's fleet config; raise `FleetConfigError` listing every problem.

    `config` maps the keys of `FLEET_CONFIG_KEYS` to their raw stack config values: Pulumi hands
    lists and booleans to a program as JSON text. Any other key in `config` (the program passes
    every `plume-fleet:*` key it finds) is reported as unknown, with the likely intended one.
    """
    raw: dict[str, Any] = {}
    problems: list[str] = [
        f"plume-fleet:{key}: {_unknown_key(key, FLEET_CONFIG_KEYS)}"
        for key in config
        if key not in FLEET_CONFIG_KEYS
    ]
    for key in FLEET_CONFIG_KEYS:
        text = config.get(key)
        if text is None:
            continue
        try:
            raw[key] = json.loads(text, parse_int=_parse_int)
        except ValueError:
            raw[key] = text
    fleet: Fleet | None = None
    try:
        fleet = Fleet.model_validate(raw)
    except PydanticValidationError as err:
        problems += [f"{_path(e['loc'])}: {_reason(e)}" for e in err.errors(include_url=False)]
    problems.extend(_duplicates(raw))
    if problems or fleet is None:
        raise FleetConfigError(problems)
    return fleet
