"""The common base of the Plume dynamic providers and of their resources.

The providers share configuration, the lazy client, pickling, the `check` of inputs and the
diffing; the resources share the camelCase / snake_case mapping and how they are declared.

Pulumi dill-pickles the provider object into the stack state (`__provider`) and the
dynamic-provider host unpickles it, caches one object per distinct `__provider` string, calls
`configure` once with the stack config, then serves up to four calls at a time from threads.
So a provider here:

* pickles to plain, non-secret data only (`__getstate__`): no settings, credential, token,
  HTTP client or lock ever reaches the state, and the blob is the same for every instance;
* reads credentials and endpoints when it runs: stack config given to `configure` first, then
  the `PLUME_*` environment (`config.settings_from_config`);
* builds one `PlumeClient` lazily, under a lock, and reuses it (and its token) for every call.

This module's path and the provider class names are part of the state format: the pickled
`__provider` refers to `plume_provider.resources.customer.CustomerProvider` and
`plume_provider.resources.node.NodeProvider` by module path. Do not rename or move them.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckFailure,
    ConfigureRequest,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN
from pydantic import BaseModel, ValidationError

from plume_provider.client.errors import InputValidationError, PlumeError
from plume_provider.resources.config import ConfigSource, settings_from_config

if TYPE_CHECKING:
    from plume_provider.client import PlumeClient
    from plume_provider.client.settings import PlumeSettings

__all__ = [
    "PROVIDER_KEY",
    "STATE_FORMAT",
    "DiffSpec",
    "PlumeProviderBase",
    "PlumeResource",
    "PlumeResourceError",
    "check_failures_from_pydantic",
    "check_inputs",
    "gone",
    "is_unknown",
    "known_inputs",
    "snake_case",
]

PROVIDER_KEY = "__provider"
STATE_FORMAT = 1
"""Version of what `__getstate__` returns; bump only with a `__setstate__` that reads both."""

logger = logging.getLogger("plume_provider.resources")


class PlumeResourceError(PlumeError):
    """A resource operation refused to go on (e.g. adopting a customer that does not match).

    Raised by the providers themselves, not from an HTTP status; the message names the object
    and the next step, like every `PlumeError`.
    """


def is_unknown(value: object) -> bool:
    """True for a value not known yet (preview).

    The host hands Check and Diff an `Unknown` object (it deserializes with keep_unknowns);
    the wire form, the `UNKNOWN` string, is accepted too.
    """
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def known_inputs(props: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The inputs of `names` that are set and known (no None, no preview placeholder)."""
    result: dict[str, Any] = {}
    for name in names:
        value = props.get(name)
        if value is not None and not is_unknown(value):
            result[name] = value
    return result


def gone() -> ReadResult:
    """The `read` answer for an object that no longer exists: refresh drops it from state."""
    return ReadResult(id_="", outs={})


_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


def check_failures_from_pydantic(
    err: ValidationError, ignore: Iterable[str] = ()
) -> list[CheckFailure]:
    """One `CheckFailure` per bad field (its camelCase input name), the rule as the reason.

    `ignore` names properties whose value is a placeholder (unknown during preview).
    """
    skipped = set(ignore)
    failures: list[CheckFailure] = []
    seen: set[str] = set()
    for loc, message in InputValidationError.from_pydantic(err).errors:
        prop = loc.split(".", 1)[0]
        if prop in skipped or prop in seen:
            continue
        seen.add(prop)
        reason = message
        for prefix in _PYDANTIC_PREFIXES:
            reason = reason.removeprefix(prefix)
        failures.append(CheckFailure(prop, reason))
    return failures


PLACEHOLDER = "placeholder"
"""What a required input missing or unknown is validated as, so only the other fields' rules
speak; its own failure is the "required" one (or none, while preview does not know it yet)."""


def check_inputs(
    inputs: Mapping[str, Any],
    *,
    accepted: Sequence[str],
    rules: type[BaseModel],
    validated: Sequence[str],
    required: Mapping[str, str],
) -> list[CheckFailure]:
    """Every problem of a resource's `inputs` (the `check` of both providers), no API call.

    `accepted`: the input properties (anything else is an unknown property); `validated`: those
    `rules` (a pydantic model with camelCase aliases) validates; `required`: required property ->
    what the user should do when it is missing (empty: just "required"). Values not known yet
    (preview) pass: they are validated once known.
    """
    failures = [
        CheckFailure(key, f"unknown property; expected one of {', '.join(accepted)}")
        for key in inputs
        if key not in accepted and key != PROVIDER_KEY
    ]
    placeholders = {key for key in validated if is_unknown(inputs.get(key))}
    values = known_inputs(inputs, validated)
    for key, how in required.items():
        if key in placeholders:
            values[key] = PLACEHOLDER
        elif key not in values:
            failures.append(CheckFailure(key, f"required: {how}" if how else "required"))
            values[key] = PLACEHOLDER
            placeholders.add(key)
    try:
        rules.model_validate(values)
    except ValidationError as err:
        failures.extend(check_failures_from_pydantic(err, ignore=placeholders))
    return failures


@dataclass(frozen=True)
class DiffSpec:
    """How a resource's inputs change: which keys replace it, which update it in place.

    `optional` keys are managed only while declared: dropping one from the program leaves the
    live value alone (Plume has no way to clear it) instead of showing a diff forever.
    `casefold` keys compare case-insensitively (emails). Keys in neither list (e.g. `adopt`,
    `__provider`) never cause a change. `stables` are the ids an in-place update keeps.
    `kind` and `replaced_by` word the refusal of an in-place change of a `replace` key.
    """

    kind: str
    replaced_by: str
    replace: tuple[str, ...]
    update: tuple[str, ...]
    optional: frozenset[str] = field(default_factory=frozenset)
    casefold: frozenset[str] = field(default_factory=frozenset)
    stables: tuple[str, ...] = ()

    def same(self, key: str, old: Any, new: Any) -> bool:
        """True when `new` is the value `old` already has (case-insensitive for `casefold`)."""
        if key in self.casefold and isinstance(old, str) and isinstance(new, str):
            return old.casefold() == new.casefold()
        return bool(old == new)

    def changed_keys(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Keys of `replace` + `update` whose new value differs (or is unknown), in order."""
        changed: list[str] = []
        for key in (*self.replace, *self.update):
            new = news.get(key)
            if is_unknown(new):
                changed.append(key)
            elif new is None and key in self.optional:
                continue
            elif not self.same(key, olds.get(key), new):
                changed.append(key)
        return changed

    def in_place_changes(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> list[str]:
        """`changed_keys` for an update; a changed `replace` key refuses it (the engine
        replaces instead, so only a stale plan gets here)."""
        changed = self.changed_keys(olds, news)
        replaced = [key for key in changed if key in self.replace]
        if replaced:
            raise PlumeResourceError(
                f"{self.kind} {id_}: {', '.join(replaced)} cannot change in place, only by "
                f"{self.replaced_by}; run pulumi preview, which shows the replacement"
            )
        return changed

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        """The `DiffResult` for normalized `olds` (saved outputs) and `news` (inputs)."""
        changed = self.changed_keys(olds, news)
        replaces = [key for key in changed if key in self.replace]
        if replaces:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)
        return DiffResult(
            changes=bool(changed),
            replaces=[],
            stables=list(self.stables),
            delete_before_replace=False,
        )


class PlumeProviderBase(ResourceProvider):
    """Configuration, the lazy thread-safe client and non-secret pickling for Plume providers.

    Subclasses implement the resource operations with `self.client` and `self.settings`.
    """

    serialize_as_secret_always: bool = False
    """The pickled provider holds no secret (a test proves it), so it need not be a secret."""

    pickled_by_class: ClassVar[bool] = True
    """The pickle depends on the class alone (`__getstate__`), so
    `sdk_workarounds.SERIALIZE_PROVIDER_ONCE` may serialize it once per class."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _OPERATIONS:
            if name in cls.__dict__:
                setattr(cls, name, _short_traceback(cls.__dict__[name]))

    _lock: threading.Lock
    _config: ConfigSource | None
    _settings: PlumeSettings | None
    _client: PlumeClient | None

    def __init__(self) -> None:
        super().__init__()
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        """Start with no configuration, settings or client (they are built on first use)."""
        self._lock = threading.Lock()
        self._config = None
        self._settings = None
        self._client = None

    # -- pickling: plain, non-secret data only --------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """What goes into the stack state: a format number, nothing else."""
        return {"format": STATE_FORMAT}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Restore from the state: runtime parts start empty and are rebuilt lazily."""
        self._reset_runtime()

    # -- configuration and the client -----------------------------------------------------

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack config; settings and client are (re)built from it on first use."""
        with self._lock:
            old, self._client = self._client, None
            self._config = req.config
            self._settings = None
        if old is not None:
            old.close()

    @property
    def settings(self) -> PlumeSettings:
        """Settings from the stack config, then `PLUME_*` env vars (built once)."""
        settings = self._settings
        if settings is None:
            with self._lock:
                if self._settings is None:
                    self._settings = settings_from_config(self._config)
                settings = self._settings
        return settings

    @property
    def client(self) -> PlumeClient:
        """The one `PlumeClient` of this provider object, built on first use."""
        client = self._client
        if client is None:
            settings = self.settings
            with self._lock:
                if self._client is None:
                    from plume_provider.client import PlumeClient

                    self._client = PlumeClient(settings)
                client = self._client
        return client

    def default_partner_id(self) -> str | None:
        """The partner of the provider settings (`plume:partnerId` / `PLUME_PARTNER_ID`)."""
        return self.settings.partner_id

    def close(self) -> None:
        """Close the client, if one was built (the next call builds a new one)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


_OPERATIONS = ("check", "diff", "create", "read", "update", "delete")


def _short_traceback(operation: Callable[..., Any]) -> Callable[..., Any]:
    """Raise a `PlumeError` of `operation` without the frames below it.

    The dynamic-provider host shows the user the whole Python traceback of a failed operation
    (`pulumi up` prints it above the message); the frames of the client and the retry loop say
    nothing an operator can act on, so the error is re-raised from here, with its message and
    hint, and no chained context.
    """

    @functools.wraps(operation)
    def run(self: PlumeProviderBase, *args: Any) -> Any:
        try:
            return operation(self, *args)
        except PlumeError as err:
            raise err.with_traceback(None) from None

    return run


def snake_case(name: str) -> str:
    """`radioMac24` -> `radio_mac24`: the Python attribute of a camelCase property."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


class PlumeResource(Resource):
    """A dynamic resource whose properties are camelCase on the wire, snake_case in Python.

    Subclasses set `_PROPERTIES` (every input and output property, camelCase) and declare the
    output attributes as `pulumi.Output[...]` annotations under `TYPE_CHECKING`, so that type
    checkers and IDEs know them and the SDK does not: it would evaluate them again for every
    registration response (`sdk_workarounds.RESOURCE_TYPES_UPSTREAM`), and they would give it
    nothing, since it looks them up by the camelCase property names. The args dataclass fields
    are the snake_case names of the input properties.

    Declared through the SDK's own `pulumi.dynamic.Resource.__init__`, nothing patched: it
    serializes the provider per resource unless the program called
    `sdk_workarounds.apply_sdk_workarounds()` (then once per class).
    """

    _PROPERTIES: ClassVar[tuple[str, ...]] = ()
    _ARGS: ClassVar[type[Any]]
    """The args dataclass (`PlumeCustomerArgs`); a dict of its fields is accepted too."""
    _to_property: ClassVar[dict[str, str]] = {}
    _to_attribute: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._to_attribute = {prop: snake_case(prop) for prop in cls._PROPERTIES}
        cls._to_property = {attr: prop for prop, attr in cls._to_attribute.items()}

    def __init__(
        self,
        provider: PlumeProviderBase,
        resource_name: str,
        args: Any,
        opts: ResourceOptions | None = None,
    ) -> None:
        # Every output gets a placeholder so the SDK creates its attribute (`customer.customer_id`);
        # None is not sent to the engine.
        props: dict[str, Any] = dict.fromkeys(self._to_property)
        for name, value in self._arguments(resource_name, args).items():
            if value is not None:
                props[name] = value
        super().__init__(provider, resource_name, props, opts)

    @classmethod
    def _arguments(cls, resource_name: str, args: Any) -> dict[str, Any]:
        """The args as {field: value}: an instance of `_ARGS`, or a dict of its fields (by
        their snake_case or camelCase names); anything else fails naming what is expected."""
        expected = cls._ARGS.__name__
        what = f"{cls.__name__} {resource_name!r}"
        if is_dataclass(args) and not isinstance(args, type):
            if not isinstance(args, cls._ARGS):
                raise TypeError(f"{what}: args must be a {expected}, got a {type(args).__name__}")
            return {item.name: getattr(args, item.name) for item in fields(args)}
        if not isinstance(args, Mapping):
            raise TypeError(
                f"{what}: args must be a {expected} or a dict of its fields, "
                f"got {type(args).__name__}"
            )
        names = [item.name for item in fields(cls._ARGS)]
        values: dict[str, Any] = {}
        for key, value in args.items():
            name = key if key in names else cls._to_attribute.get(str(key), str(key))
            if name not in names:
                raise TypeError(
                    f"{what}: unknown argument {key!r}; {expected} has {', '.join(names)}"
                )
            values[name] = value
        missing = [
            item.name
            for item in fields(cls._ARGS)
            if item.default is MISSING and item.name not in values
        ]
        if missing:
            raise TypeError(f"{what}: missing required argument(s) {', '.join(missing)}")
        return values

    def translate_input_property(self, prop: str) -> str:
        """Python attribute (`account_id`) -> property name (`accountId`)."""
        return self._to_property.get(prop, prop)

    def translate_output_property(self, prop: str) -> str:
        """Property name (`customerId`) -> Python attribute (`customer_id`)."""
        return self._to_attribute.get(prop, prop)
