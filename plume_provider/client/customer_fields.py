"""The customer field table: every field of a Plume customer, declared once.

One `CustomerField` per field: its Python attribute, its API name, its Pulumi property, its rule
(a type of `rules`), its default, what a change does (replace, in place by which client call, or
nothing live), where its live value comes from, and its one equality. Everything else is derived
from `CUSTOMER_FIELDS`, nothing is spelled again:

* the request models `CustomerRegistration` and `CustomerUpdate` (`models`);
* the register recovery's comparison (`_recovery.not_created_by`);
* the provider's inputs, outputs, check, diff, replace and PATCH lists, `PlumeCustomerArgs`
  (`resources.customer`);
* the fleet model's customer fields and the fleet file's columns (`fleet.model`, `fleet.file`);
* discover's reconciliation (`discover.reconcile`).

It lives in the client because the client's recovery needs it and the client imports nothing
of Pulumi; every layer above may import it. Adding a field is one entry here (and the
emulator's rule); docs/architecture.md, "One field table", says what follows by itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from pydantic import StrictBool
from pydantic.alias_generators import to_snake

from plume_provider.client.rules import (
    AcceptLanguage,
    AccountId,
    CustomerId,
    CustomerName,
    Email,
    OnboardingCheckpoint,
    PartnerId,
    Profile,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "REQUIRED",
    "Change",
    "CustomerField",
    "CustomerFields",
    "Kind",
    "exact",
    "folded",
    "stripped",
]

Change: TypeAlias = Literal["replace", "update_customer", "set_onboarding_checkpoint", "nothing"]
"""What changing a declared value does: replace the customer (deleting first), one call in
place (`PlumeClient.update_customer`: the PATCH; `set_onboarding_checkpoint`), or nothing live."""

Kind: TypeAlias = Literal["registered", "take-over", "output"]
"""`registered`: sent in the register body, an input and an output; `take-over`: an input that
says how to take an existing customer over, never sent; `output`: Plume's, never declared."""

Live: TypeAlias = Literal["customer", "location", "none"]
"""Where the live value is read: the customer (`GET /Customers/{id}`), its location, nowhere."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()
"""The default of a field that must be declared (or, for partnerId, come from the provider)."""


def exact(live: Any, declared: Any) -> bool:
    """Equal as given."""
    return bool(live == declared)


def stripped(live: Any, declared: Any) -> bool:
    """Equal once surrounding blanks are dropped (a name typed with a trailing space)."""
    if isinstance(live, str) and isinstance(declared, str):
        return live.strip() == declared.strip()
    return bool(live == declared)


def folded(live: Any, declared: Any) -> bool:
    """Equal ignoring case and surrounding blanks (emails: Plume keeps one per address)."""
    if isinstance(live, str) and isinstance(declared, str):
        return live.strip().casefold() == declared.strip().casefold()
    return bool(live == declared)


def blank(value: Any) -> bool:
    """No value, or only blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


_INVENTED_EMAIL: Final = re.compile(r"^null\+[^@\s]*@plume\.com$", re.IGNORECASE)


def blank_or_invented(value: Any) -> bool:
    """No email, or the `null+...@plume.com` Plume invents for a customer registered without."""
    return blank(value) or (isinstance(value, str) and bool(_INVENTED_EMAIL.match(value.strip())))


@dataclass(frozen=True)
class CustomerField:
    """One field of a customer (see the module docstring)."""

    api: str
    """The API's name (`accountId`): the JSON key of requests and answers."""
    rule: Any
    """The type a declared value must have (a type of `rules`; `None` is added when optional)."""
    doc: str
    """What the field is, for users (the docstring of its `PlumeCustomerArgs` field)."""
    kind: Kind = "registered"
    default: Any = None
    """REQUIRED, the value Plume fills in when it is left out, or None: left alone while not
    declared (dropping it from the program changes nothing live)."""
    change: Change = "nothing"
    equal: Callable[[Any, Any], bool] = exact
    """The one equality of live and declared values: diff, recovery, import and discover."""
    live: Live = "customer"
    pulumi: str = ""
    """The Pulumi property, when not the API name (`customerId` for Plume's `id`)."""
    required: str = ""
    """What to do when a REQUIRED field is missing (check's message)."""
    provider_default: bool = False
    """Filled from the provider's settings when not declared (partnerId): optional in Args."""
    fleet: bool = True
    """A key of a fleet customer (stack config, fleet-file column)."""
    fleet_default: Any = None
    """A fleet customer's value when not given, when not the field's `default`."""
    unique: bool = False
    """Plume keeps one customer per value: the fleet refuses two that differ only in case or
    surrounding blanks, before any call."""
    headers: tuple[str, ...] = ()
    """Other CSV headers a CRM export may use for it (`Customer Name`)."""
    python_type: str = "str"
    """The value's type as `PlumeCustomerArgs` and the outputs spell it."""
    called: str = ""
    """How refusals name the field, when not by its API name."""
    differs: str = "its {called} is {live}, not {declared}"
    """The recovery's reason when the live value differs."""
    undeclared: Callable[[Any], bool] | None = None
    """Recovery: the live values Plume gives a field that was not declared (None: not compared)."""
    omitted_means_blank: bool = False
    """Recovery: Plume leaves the field out when it is blank (a missing name is no name), so a
    declared value with no live one differs; otherwise a missing live value proves nothing."""

    @property
    def prop(self) -> str:
        """The Pulumi property (the state's key, the fleet's key)."""
        return self.pulumi or self.api

    @property
    def attribute(self) -> str:
        """The Python attribute (`account_id`): models, Args, fleet specs."""
        return to_snake(self.prop)

    @property
    def optional(self) -> bool:
        """Not required: absent means the default (or left alone)."""
        return self.default is not REQUIRED

    @property
    def in_place(self) -> bool:
        """A change is one call in place."""
        return self.change in ("update_customer", "set_onboarding_checkpoint")

    def same(self, live: Any, declared: Any) -> bool:
        """`declared` is what `live` already is, by this field's equality."""
        return self.equal(live, declared)

    def live_value(self, customer: Mapping[str, Any], location: Mapping[str, Any] | None) -> Any:
        """The live value in Plume's answers (camelCase mappings); None when not given."""
        source = customer if self.live == "customer" else location
        if source is None or self.live == "none":
            return None
        value = source.get(self.api)
        if isinstance(value, Mapping):  # {"value": ..., "timestamp": ...} (the checkpoint)
            value = value.get("value")
        return value


class CustomerFields:
    """The table, with the lists the layers derive from it."""

    def __init__(self, *fields: CustomerField) -> None:
        self.fields = fields
        self.by_prop = {f.prop: f for f in fields}

    def __iter__(self) -> Iterator[CustomerField]:
        return iter(self.fields)

    def __getitem__(self, prop: str) -> CustomerField:
        return self.by_prop[prop]

    def __getattr__(self, attribute: str) -> CustomerField:
        """A field by its Python attribute (`CUSTOMER_FIELDS.account_id`), so code that needs
        one field by name never spells its API name."""
        for item in self.__dict__.get("fields", ()):
            if item.attribute == attribute:
                return item  # type: ignore[no-any-return]
        raise AttributeError(f"the customer field table has no field {attribute!r}")

    @property
    def registered(self) -> tuple[CustomerField, ...]:
        """Sent in the register body, in table order."""
        return tuple(f for f in self.fields if f.kind == "registered")

    @property
    def inputs(self) -> tuple[CustomerField, ...]:
        """Every input property: the registered fields, then the take-over ones."""
        return tuple(f for f in self.fields if f.kind != "output")

    @property
    def outputs(self) -> tuple[CustomerField, ...]:
        """Every output property: Plume's ids and the registered fields as they are live."""
        return tuple(f for f in self.fields if f.kind != "take-over")

    @property
    def take_over(self) -> tuple[CustomerField, ...]:
        return tuple(f for f in self.fields if f.kind == "take-over")

    @property
    def stables(self) -> tuple[CustomerField, ...]:
        """Plume's own values: an in-place update keeps them."""
        return tuple(f for f in self.fields if f.kind == "output")

    @property
    def replaced_by_change(self) -> tuple[CustomerField, ...]:
        return tuple(f for f in self.fields if f.change == "replace")

    @property
    def updated_in_place(self) -> tuple[CustomerField, ...]:
        return tuple(f for f in self.fields if f.in_place)

    @property
    def patched(self) -> tuple[CustomerField, ...]:
        """Changed by the one PATCH (`update_customer`)."""
        return tuple(f for f in self.fields if f.change == "update_customer")

    @property
    def left_alone_when_undeclared(self) -> tuple[CustomerField, ...]:
        """Registered fields without a default: managed only while declared."""
        return tuple(f for f in self.registered if f.default is None)

    @property
    def plume_defaults(self) -> dict[str, Any]:
        """Property -> the value Plume fills in when it is left out."""
        return {
            f.prop: f.default
            for f in self.registered
            if f.default is not None and f.default is not REQUIRED
        }

    @property
    def fleet(self) -> tuple[CustomerField, ...]:
        """The keys of a fleet customer, in table order."""
        return tuple(f for f in self.inputs if f.fleet)

    def same(self, prop: str, live: Any, declared: Any) -> bool:
        """The equality of `prop` (exact for a property not in the table)."""
        field = self.by_prop.get(prop)
        return field.same(live, declared) if field is not None else exact(live, declared)


CUSTOMER_FIELDS: Final = CustomerFields(
    CustomerField(
        "id",
        str,
        "Plume's id of the customer.",
        kind="output",
        pulumi="customerId",
    ),
    CustomerField(
        "id",
        str,
        "Plume's id of the customer's first location.",
        kind="output",
        pulumi="locationId",
        live="location",
    ),
    CustomerField(
        "accountId",
        AccountId,
        "CRM account id; unique per partner (a UUID if the CRM has none); no quote characters.",
        default=REQUIRED,
        change="update_customer",
        required="declare the customer's CRM account id (a UUID if there is none)",
        unique=True,
    ),
    CustomerField(
        "partnerId",
        PartnerId,
        "Plume partner id; default: the provider's `plume:partnerId` / `PLUME_PARTNER_ID`.",
        default=REQUIRED,
        change="replace",
        required="declare partnerId or set plume:partnerId (PLUME_PARTNER_ID) for the provider",
        provider_default=True,
        fleet=False,
        differs="it belongs to partner {live}",
    ),
    CustomerField(
        "name",
        CustomerName,
        'Customer name ("First Last"); no quote characters.',
        change="update_customer",
        equal=stripped,
        undeclared=blank,
        omitted_means_blank=True,
        headers=("Customer Name",),
    ),
    CustomerField(
        "email",
        Email,
        "Login email for the Plume app; unique across the cloud (Plume invents one if omitted).",
        change="update_customer",
        equal=folded,
        undeclared=blank_or_invented,
        omitted_means_blank=True,
        unique=True,
        headers=("E-mail address",),
    ),
    CustomerField(
        "profile",
        Profile,
        "`auto` (HomePass, default) or `smallbusiness` (WorkPass); changing it replaces.",
        default="auto",
        change="replace",
        live="location",
        python_type='Literal["auto", "smallbusiness"]',
        called="location's profile",
    ),
    CustomerField(
        "acceptLanguage",
        AcceptLanguage,
        "Language of the account, e.g. `en-US` (default); changing it replaces.",
        default="en-US",
        change="replace",
        equal=folded,
    ),
    CustomerField(
        "onboardingCheckpoint",
        OnboardingCheckpoint,
        "Last onboarding step passed: `PodsAdded` or `OnboardingComplete`.",
        change="set_onboarding_checkpoint",
        live="location",
        python_type='Literal["PodsAdded", "OnboardingComplete"]',
        called="onboarding checkpoint",
    ),
    CustomerField(
        "createdAt",
        str,
        "When Plume created the customer.",
        kind="output",
    ),
    CustomerField(
        "adopt",
        StrictBool,
        "Take over an existing customer with this partnerId + accountId instead of failing.",
        kind="take-over",
        live="none",
        python_type="bool",
        fleet_default=False,
    ),
    CustomerField(
        "importId",
        CustomerId,
        "Bring the existing customer with this Plume id under the stack (values must match).",
        kind="take-over",
        live="none",
    ),
)
