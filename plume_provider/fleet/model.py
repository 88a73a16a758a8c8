"""The fleet a stack declares (`plume-fleet:customers` and/or `plume-fleet:fleetFile`), validated
as a whole before any resource.

Field rules are the client's own input types (quotes, email, serial), so the fleet and the API
calls can never disagree; on top of them the fleet checks what only the whole list can show: an
accountId or a serial declared twice. `load_fleet` reports every problem at once, each with its
path (`customers[2].nodes[0].serialNumber`, or `fleets/pilot.csv:1042:email` for a fleet
file, see `fleet.file`), so an operator fixes the config in one pass.

Shards (`fleet.shards`): a customer's `shard`; `plume-fleet:shard: NAME` declares that shard's
customers only, after the whole fleet is validated. Rollout waves: a customer's `wave` (default
1); `plume-fleet:wave: N` declares waves 1..N only, within the shard. `Fleet.declared()` is that
selection; what a lower wave or a changed shard would remove is refused by the removal guard
(`fleet.removals`), which reads the stack's state.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)
from pydantic.alias_generators import to_camel

from plume_provider.client.customer_fields import CUSTOMER_FIELDS, REQUIRED
from plume_provider.client.errors import InputValidationError
from plume_provider.client.models import (
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
from plume_provider.fleet.file import FileLocator, parse_fleet_file
from plume_provider.fleet.shards import check_shard_name, shard_problems

__all__ = [
    "FLEET_CONFIG_KEYS",
    "CustomerSpec",
    "Fleet",
    "FleetConfigError",
    "NodeSpec",
    "load_fleet",
]

FLEET_CONFIG_KEYS = (
    "customers",
    "fleetFile",
    "protect",
    "retainOnDelete",
    "wave",
    "shard",
    "allowRemovals",
)
RETIRED_KEYS = {
    "allowShrink": (
        "replaced by plume-fleet:allowRemovals: N (or PLUME_FLEET_ALLOW_REMOVALS=N for one "
        "run), which allows exactly the N removals the refusal names; remove allowShrink"
    ),
}

Wave = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
ShardName = Annotated[StrictStr, AfterValidator(check_shard_name)]
_RAW_TEXT_KEYS = frozenset({"fleetFile", "shard"})
"""Keys read as the text the stack sets, not as JSON (a shard named `07` or `1` stays text)."""


class FleetConfigError(InputValidationError):
    """The stack's fleet config is invalid; `problems` lists each one as `path: reason`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            f"the fleet in stack config (plume-fleet:*) has {len(problems)} problem(s); "
            f"fix them in stacks/Pulumi.<stack>.yaml (or the fleet file) and run again:"
            f"\n{listing}",
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


def _customer_fields_model() -> Any:
    """The customer field table's fleet keys as a model (the base of `CustomerSpec`)."""
    definitions: dict[str, Any] = {}
    for item in CUSTOMER_FIELDS.fleet:
        if item.default is REQUIRED:
            definitions[item.attribute] = (item.rule, ...)
        elif item.fleet_default is not None:
            definitions[item.attribute] = (item.rule, item.fleet_default)
        elif item.default is None:
            definitions[item.attribute] = (Optional[item.rule], None)  # noqa: UP045
        else:
            definitions[item.attribute] = (item.rule, item.default)
    return create_model("CustomerFields", __base__=_Spec, __module__=__name__, **definitions)


if TYPE_CHECKING:
    # What type checkers read; at run time the base is built from the table, and
    # tests/provider/test_customer_fields_typed.py holds these lines equal to it.
    class _CustomerFields(_Spec):
        account_id: AccountId
        name: CustomerName | None = None
        email: Email | None = None
        profile: Profile = "auto"
        accept_language: AcceptLanguage = "en-US"
        onboarding_checkpoint: OnboardingCheckpoint | None = None
        adopt: StrictBool = False
        import_id: CustomerId | None = None

else:
    _CustomerFields = _customer_fields_model()


class CustomerSpec(_CustomerFields):
    """A customer to register (or adopt, or import) and the nodes to claim for it: the customer
    field table's fleet keys, then what only a fleet says (protect, wave, shard, nodes)."""

    protect: StrictBool | None = None
    wave: Wave | None = None
    shard: ShardName | None = None
    nodes: list[NodeSpec] = Field(default_factory=list)

    @property
    def rollout_wave(self) -> int:
        """The wave this customer is declared in (1 when none is given)."""
        return self.wave or 1

    def customer_inputs(self) -> dict[str, Any]:
        """The `PlumeCustomerArgs` of this customer: every table field a fleet declares."""
        return {item.attribute: getattr(self, item.attribute) for item in CUSTOMER_FIELDS.fleet}


class Fleet(_Spec):
    """Everything a stack declares: `customers` is the whole fleet (every shard), `owned()`
    the customers of this stack's shard."""

    customers: list[CustomerSpec] = Field(default_factory=list)
    fleet_file: str | None = None
    protect: StrictBool = False
    retain_on_delete: StrictBool = False
    wave: Wave | None = None
    shard: ShardName | None = None
    allow_removals: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None

    def protects(self, customer: CustomerSpec) -> bool:
        """The customer's own `protect`, else the stack's."""
        return self.protect if customer.protect is None else customer.protect

    def owned(self) -> list[CustomerSpec]:
        """The customers of `plume-fleet:shard` (every customer when it is not set)."""
        if self.shard is None:
            return list(self.customers)
        return [c for c in self.customers if c.shard == self.shard]

    @property
    def uses_waves(self) -> bool:
        """`plume-fleet:wave` is set or a customer of this stack's shard names its wave."""
        return self.wave is not None or any(c.wave is not None for c in self.owned())

    @property
    def deployed_wave(self) -> int:
        """The highest wave this run declares: `plume-fleet:wave`, else the shard's highest."""
        if self.wave is not None:
            return self.wave
        return max((c.rollout_wave for c in self.owned()), default=1)

    def declared(self) -> list[CustomerSpec]:
        """The customers of this stack's shard in waves 1..`deployed_wave`: the shard selects
        first, the wave within it."""
        top = self.deployed_wave
        return [c for c in self.owned() if c.rollout_wave <= top]


def _path(location: Iterable[int | str]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


Where = Callable[[int, Sequence[int | str]], str]
"""(customer index, location inside it) -> the text naming it (`customers[2].email`)."""


def _duplicates(customers: list[Mapping[str, Any]], where: Where) -> list[str]:
    """Accounts, emails and serials declared twice (inline or in the fleet file), found in the raw
    config so they are reported together with any field problems. accountIds that differ only in
    case or surrounding blanks count as one (a person reads `A1`, ` A1` and `a1` as one account;
    Plume would register three households), and so do emails that differ only in case (Plume
    keeps one per address and would refuse the second with a 422 half-way through an update).
    Locations are worded only for the duplicates (a 10,000-customer file has 20,000 values to
    index)."""
    unique = [item.prop for item in CUSTOMER_FIELDS.fleet if item.unique]
    seen: dict[str, dict[str, list[tuple[str, int, Sequence[int | str]]]]] = {
        **{prop: {} for prop in unique},
        "serial": {},
    }

    def note(kind: str, value: Any, key: str, i: int, at: Sequence[int | str]) -> None:
        if isinstance(value, str):  # anything else already fails validation
            seen[kind].setdefault(key, []).append((value, i, at))

    for i, customer in enumerate(customers):
        for prop in unique:
            value = customer.get(prop)
            note(prop, value, _folded(value).strip(), i, (prop,))
        nodes = customer.get("nodes")
        if not isinstance(nodes, list):
            continue
        for j, node in enumerate(nodes):
            serial = node.get("serialNumber") if isinstance(node, Mapping) else None
            note(
                "serial",
                serial,
                serial if isinstance(serial, str) else "",
                i,
                ("nodes", j, "serialNumber"),
            )
    problems: list[str] = []
    for kind, places_by_key in seen.items():
        for places in places_by_key.values():
            if len(places) < 2:
                continue
            first_value, first_i, first_at = places[0]
            for value, i, at in places[1:]:
                same = "" if value == first_value else f" as {first_value!r}"
                problems.append(
                    f"{where(i, at)}: {kind} {value!r} is already declared at "
                    f"{where(first_i, first_at)}{same}"
                )
    return problems


def _folded(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else ""


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


def load_fleet(
    config: Mapping[str, str | None], root: Path | None = None, *, every_shard: bool = False
) -> Fleet:
    """Validate the stack's fleet config; raise `FleetConfigError` listing every problem.

    `config` maps the keys of `FLEET_CONFIG_KEYS` to their raw stack config values: Pulumi hands
    lists and booleans to a program as JSON text. Any other key in `config` (the program passes
    every `plume-fleet:*` key it finds) is reported as unknown, with the likely intended one.
    `fleetFile` is read relative to `root` (the project directory, the program's working
    directory); its customers come after the inline ones, and both are validated together.
    The whole fleet is validated whichever shard the stack declares (`fleet.shards`); a sharded
    fleet without `plume-fleet:shard` is refused unless `every_shard` (a tool reading the whole
    file, such as discover; never the program).
    """
    raw: dict[str, Any] = {}
    problems: list[str] = [
        f"plume-fleet:{key}: {RETIRED_KEYS.get(key) or _unknown_key(key, FLEET_CONFIG_KEYS)}"
        for key in config
        if key not in FLEET_CONFIG_KEYS
    ]
    for key in FLEET_CONFIG_KEYS:
        text = config.get(key)
        if text is None:
            continue
        if key in _RAW_TEXT_KEYS:
            raw[key] = text
            continue
        try:
            raw[key] = json.loads(text, parse_int=_parse_int)
        except ValueError:
            raw[key] = text
    inline = raw.get("customers")
    inline_items = _items(inline)
    locator: FileLocator | None = None
    file_customers: list[Any] = []
    fleet_file = raw.get("fleetFile")
    if isinstance(fleet_file, str) and fleet_file.strip():
        parsed = parse_fleet_file(root or Path.cwd(), fleet_file, _unknown_column)
        problems += parsed.problems
        locator = parsed.locator
        file_customers = parsed.customers
    elif fleet_file is not None:
        problems.append("fleetFile: must be a path such as fleets/pilot.csv")
    offset = len(inline) if isinstance(inline, list) else 0

    def where(index: int, loc: Sequence[int | str]) -> str:
        if locator is not None and index >= offset:
            return locator.where(index - offset, loc)
        return _path(("customers", index, *loc))

    combined = dict(raw)
    if file_customers:
        combined["customers"] = [*(inline if isinstance(inline, list) else []), *file_customers]
    fleet: Fleet | None = None
    try:
        fleet = Fleet.model_validate(combined)
    except ValidationError as err:
        for error in err.errors(include_url=False):
            loc = tuple(error["loc"])
            if len(loc) >= 2 and loc[0] == "customers" and isinstance(loc[1], int):
                path = where(loc[1], loc[2:])
            else:
                path = _path(loc)
            problems.append(f"{path}: {_reason(error)}")
    every = [*inline_items, *(c for c in file_customers if isinstance(c, Mapping))]
    if len(every) != offset + len(file_customers):
        every = inline_items  # a non-mapping entry shifts indices; report per source
    problems.extend(_duplicates(every, where))
    problems.extend(shard_problems(every, where, raw.get("shard"), every_shard=every_shard))
    if problems or fleet is None:
        raise FleetConfigError(problems)
    return fleet


def _unknown_column(column: str, expected: Sequence[str], what: str) -> str:
    return _unknown_key(column, expected).replace("unknown key", f"unknown {what}", 1)
