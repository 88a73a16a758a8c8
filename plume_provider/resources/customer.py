"""`PlumeCustomer`: a Plume customer account (and its first location) declared in code.

Every property is a field of the customer field table (`client.customer_fields`), and
everything here is derived from it: the inputs (`accountId` required, `partnerId` default: the
provider's partner, `name`, `email`, `profile` `auto`, `acceptLanguage` `en-US`,
`onboardingCheckpoint`, then the take-over inputs `adopt` and `importId`), the outputs
(`customerId`, `locationId`, the registered fields as they are live, `createdAt`), what a
change does (`partnerId`, `profile`, `acceptLanguage` replace the customer, deleting first;
`accountId`, `name`, `email` are one PATCH; `onboardingCheckpoint` its own call; `adopt` and
`importId` nothing live), each field's equality, and `PlumeCustomerArgs`.

`CustomerProvider` is referenced by this module path from every stack state: keep it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import TYPE_CHECKING, Any, Literal

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)
from pydantic import ValidationError

from plume_provider.client.customer_fields import CUSTOMER_FIELDS, REQUIRED, CustomerField
from plume_provider.client.errors import (
    AuthenticationError,
    ConflictError,
    InputValidationError,
    NotFoundError,
    PlumeError,
)
from plume_provider.client.hints import account_taken_hint
from plume_provider.client.identifiers import id_problem
from plume_provider.client.models import Customer, CustomerRegistration, CustomerUpdate, Location
from plume_provider.resources.base import (
    DiffSpec,
    PlumeProviderBase,
    PlumeResource,
    PlumeResourceError,
    check_inputs,
    gone,
    is_unknown,
    known_inputs,
    logger,
)

__all__ = ["CUSTOMER_DIFF", "CustomerProvider", "PlumeCustomer", "PlumeCustomerArgs"]

FIELDS = CUSTOMER_FIELDS
ADOPT = FIELDS.adopt.prop
IMPORT_ID = FIELDS.import_id.prop
LOCATION_ID = FIELDS.location_id.prop
PARTNER_ID = FIELDS.partner_id.prop
CHECKPOINT = FIELDS.onboarding_checkpoint.prop

INPUTS = tuple(f.prop for f in FIELDS.inputs)
OUTPUTS = tuple(f.prop for f in FIELDS.outputs)
_REGISTRATION_INPUTS = tuple(f.prop for f in FIELDS.registered)
_TAKEOVER_INPUTS = tuple(f.prop for f in FIELDS.take_over)
_PATCHABLE = tuple(f.prop for f in FIELDS.patched)
_DEFAULTS = FIELDS.plume_defaults
_REQUIRED = {f.prop: f.required for f in FIELDS.inputs if f.required}


@dataclass(frozen=True)
class _TableDiff(DiffSpec):
    """`DiffSpec` comparing each property by its field's one equality."""

    def same(self, key: str, old: Any, new: Any) -> bool:
        return FIELDS.same(key, old, new)


CUSTOMER_DIFF = _TableDiff(
    kind="customer",
    replaced_by="replacing the customer",
    replace=tuple(f.prop for f in FIELDS.replaced_by_change),
    update=tuple(f.prop for f in FIELDS.updated_in_place),
    optional=frozenset(f.prop for f in FIELDS.left_alone_when_undeclared),
    stables=tuple(f.prop for f in FIELDS.stables),
)


def _with_defaults(props: Mapping[str, Any]) -> dict[str, Any]:
    """Plume's defaults for the inputs left out (the partner is the provider's: `_normalize`)."""
    result = dict(props)
    for key, value in _DEFAULTS.items():
        if result.get(key) is None:
            result[key] = value
    return result


def _outputs(
    customer: Customer,
    location_id: str | None,
    declared: Mapping[str, Any],
    *,
    at_location: Mapping[str, Any],
) -> dict[str, Any]:
    """Outputs from Plume's answer: each field's live value (`at_location` holds the location's:
    the profile and checkpoint as known), else the declared one, else the field's default."""
    live = customer.model_dump(by_alias=True)
    outs: dict[str, Any] = {}
    for item in FIELDS.outputs:
        if item.prop == LOCATION_ID:
            value: Any = location_id
        elif item.live == "location":
            value = at_location.get(item.prop)
        else:
            value = item.live_value(live, None)
        if value is None:
            value = declared.get(item.prop)
        if value is None and item.default is not REQUIRED:
            value = item.default
        outs[item.prop] = value
    return outs


def _at_location(location: Location | None) -> dict[str, Any]:
    """The location's live values of the location fields (profile, checkpoint), by property."""
    if location is None:
        return {}
    live = location.model_dump(by_alias=True)
    return {
        item.prop: item.live_value({}, live)
        for item in FIELDS.outputs
        if item.live == "location" and item.prop != LOCATION_ID
    }


def _declared_at_location(registration: CustomerRegistration) -> dict[str, Any]:
    """The location fields as registered (what a new location has)."""
    declared = registration.model_dump(by_alias=True)
    return {
        item.prop: declared.get(item.api) for item in FIELDS.registered if item.live == "location"
    }


def _patch_differences(live: Mapping[str, Any], declared: Mapping[str, Any]) -> list[CustomerField]:
    """The PATCH fields whose declared value differs from the live one (by their equality):
    what an import refuses and an adoption brings in line."""
    return [
        item
        for item in FIELDS.patched
        if declared.get(item.api) is not None
        and not item.same(item.live_value(live, None), declared[item.api])
    ]


class CustomerProvider(PlumeProviderBase):
    """Dynamic provider of `PlumeCustomer` (id: the Plume customer id)."""

    # -- check / diff (no API call) -------------------------------------------------------

    def _normalize(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Declared inputs with every default filled, the provider's partner included."""
        result = _with_defaults(props)
        if result.get(PARTNER_ID) is None and (partner := self.default_partner_id()) is not None:
            result[PARTNER_ID] = partner
        return result

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate with the client's registration rules; fill defaults so diffs are stable."""
        inputs = self._normalize(news)
        failures = check_inputs(
            inputs,
            accepted=INPUTS,
            rules=CustomerRegistration,
            validated=_REGISTRATION_INPUTS,
            required=_REQUIRED,
        )
        adopt = inputs.get(ADOPT)
        if adopt is not None and not is_unknown(adopt) and not isinstance(adopt, bool):
            failures.append(CheckFailure(ADOPT, "must be true or false"))
        import_id = inputs.get(IMPORT_ID)
        if import_id is not None and not is_unknown(import_id):
            problem = (
                id_problem("customerId", import_id)
                if isinstance(import_id, str)
                else "must be a Plume customer id (text)"
            )
            if problem is not None:
                failures.append(CheckFailure(IMPORT_ID, problem))
            elif adopt is True:
                failures.append(
                    CheckFailure(IMPORT_ID, "set either importId or adopt: true, not both")
                )
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare saved outputs with the new inputs (defaults applied to both sides)."""
        return CUSTOMER_DIFF.diff(_with_defaults(olds), self._normalize(news))

    # -- create ---------------------------------------------------------------------------

    def _registration(self, declared: Mapping[str, Any]) -> CustomerRegistration:
        try:
            return CustomerRegistration.model_validate(known_inputs(declared, _REGISTRATION_INPUTS))
        except ValidationError as err:
            raise InputValidationError.from_pydantic(err, subject="PlumeCustomer inputs") from None

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Register the customer; or take over an existing one: by `importId` (its values must
        match), or with `adopt: true` (by accountId, name and email brought in line)."""
        declared = self._normalize(props)
        registration = self._registration(declared)
        import_id = declared.get(IMPORT_ID)
        if isinstance(import_id, str) and import_id:
            return self._import(import_id, registration)
        if declared.get(ADOPT) is True:
            adopted = self._adopt(registration)
            if adopted is not None:
                return adopted
        try:
            customer = self.client.register_customer(registration)
        except ConflictError as err:
            if err.status != 409:
                raise  # the client named the customer already
            raise self._duplicate(err, registration) from None
        outs = _outputs(
            customer,
            customer.location_id,
            declared,
            at_location=_declared_at_location(registration),
        )
        return CreateResult(customer.id, outs)

    def _duplicate(self, err: ConflictError, registration: CustomerRegistration) -> ConflictError:
        """The register 409, naming the existing customer and the two ways to manage it."""
        try:
            hits = self.client.find_customers_by_account_id(registration.account_id)
        except PlumeError:
            hits = []
        return ConflictError(
            err.summary,
            status=err.status,
            method=err.method,
            path=err.path,
            api_message=err.api_message,
            hint=account_taken_hint(
                registration.account_id, registration.partner_id, hits[0].id if hits else None
            ),
            operation=err.operation,
        )

    def _adopt(self, registration: CustomerRegistration) -> CreateResult | None:
        """Take over the customer with this partnerId + accountId; None when there is none."""
        hits = self.client.find_customers_by_account_id(registration.account_id)
        if not hits:
            return None
        customer = self.client.get_customer(hits[0].id)
        return self._take_over(customer, registration, strict=False)

    def _import(self, customer_id: str, registration: CustomerRegistration) -> CreateResult:
        """Take over the customer with this id; every declared value must match the live one.

        Pulumi's own `import_` cannot be used for dynamic resources: the engine's Read of an
        import carries no serialized provider, and the dynamic-provider host fails with
        `KeyError: '__provider'` (pulumi/pulumi#16175). So `importId` is an input, and the
        import happens here, in create.
        """
        try:
            customer = self.client.get_customer(customer_id)
        except (NotFoundError, AuthenticationError):
            raise PlumeResourceError(
                f"importId {customer_id}: no such customer for partner "
                f"{registration.partner_id}; check the id (pulumi stack output, or the Plume "
                "portal) or remove importId to register a new customer"
            ) from None
        live = customer.model_dump(by_alias=True)
        declared = registration.model_dump(by_alias=True)
        differences = [
            f"{item.prop}: live {item.live_value(live, None)!r}, declared {declared[item.api]!r}"
            for item in _patch_differences(live, declared)
        ]
        if differences:
            raise PlumeResourceError(
                f"importing customer {customer_id}: the declared values differ from the live "
                f"ones ({'; '.join(differences)}); declare the live values (then change them in "
                "a later up), or use adopt: true, which brings name and email in line"
            )
        return self._take_over(customer, registration, strict=True)

    def _take_over(
        self, customer: Customer, registration: CustomerRegistration, *, strict: bool
    ) -> CreateResult:
        """Manage an existing customer: same partner and profile as declared, else refuse;
        name and email patched to the declared ones unless `strict` (an import)."""
        client = self.client
        customer_id = customer.id
        verb = "importing" if strict else "adopting"
        what = f"{verb} customer {customer_id} (accountId {registration.account_id})"
        if customer.partner_id not in (None, registration.partner_id):
            raise PlumeResourceError(
                f"{what}: it belongs to partner {customer.partner_id}, not "
                f"{registration.partner_id}; declare partnerId {customer.partner_id} or remove "
                f"{'importId' if strict else 'adopt'}"
            )
        locations = client.list_locations(customer_id)
        location = locations[0] if locations else None
        profile = location.profile if location is not None else None
        if profile and profile != registration.profile:
            raise PlumeResourceError(
                f"{what}: its location has profile {profile}, the code declares "
                f"{registration.profile}; declare profile {profile!r} (changing the profile "
                "replaces the customer)"
            )
        declared = registration.model_dump(by_alias=True)
        changes = {
            item.api: declared[item.api]
            for item in _patch_differences(customer.model_dump(by_alias=True), declared)
        }
        if changes:
            customer = client.update_customer(customer_id, CustomerUpdate.model_validate(changes))
        checkpoint = _at_location(location).get(CHECKPOINT)
        wanted = registration.onboarding_checkpoint
        if wanted is not None and location is not None and wanted != checkpoint:
            checkpoint = client.set_onboarding_checkpoint(customer_id, location.id, wanted).value
        logger.info("%s: taken over", what)
        outs = _outputs(
            customer,
            location.id if location is not None else None,
            declared,
            at_location={**_declared_at_location(registration), CHECKPOINT: checkpoint},
        )
        return CreateResult(customer_id, outs)

    # -- read -----------------------------------------------------------------------------

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Live customer + location; gone (refresh drops it) when deleted out of band.

        Works from inputs alone (import): the location is the declared one if it still exists,
        else the customer's first. `inputs` carries the live values so an import can adopt it.
        """
        client = self.client
        try:
            customer = client.get_customer(id_)
            locations = client.list_locations(id_)
        except NotFoundError:
            return gone()
        except AuthenticationError:
            if self._confirmed_unknown(id_, props):
                return gone()
            raise
        declared_location = props.get(LOCATION_ID)
        location = next(
            (loc for loc in locations if loc.id == declared_location),
            locations[0] if locations else None,
        )
        outs = _outputs(
            customer,
            location.id if location is not None else None,
            props,
            at_location=_at_location(location),
        )
        inputs = {key: outs[key] for key in _REGISTRATION_INPUTS if outs.get(key) is not None}
        inputs.update({key: props[key] for key in _TAKEOVER_INPUTS if props.get(key) is not None})
        return ReadResult(id_=customer.id, outs=outs, inputs=inputs)

    def _confirmed_unknown(self, customer_id: str, props: Mapping[str, Any]) -> bool:
        """After a 401 on a customer: True if the credentials work and the id is not there.

        Plume answers 401 both for an unknown customer and for bad credentials; a search by
        the customer's accountId tells them apart (it fails too if the credentials are bad).
        """
        account_id = props.get(FIELDS.account_id.prop)
        if not isinstance(account_id, str) or not account_id or is_unknown(account_id):
            return False
        try:
            hits = self.client.find_customers_by_account_id(account_id)
        except PlumeError:
            return False
        return all(hit.id != customer_id for hit in hits)

    # -- update / delete ------------------------------------------------------------------

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """One PATCH for accountId/name/email, one call for the checkpoint; none if unchanged."""
        old = _with_defaults(olds)
        new = self._normalize(news)
        changed = CUSTOMER_DIFF.in_place_changes(_id, old, new)
        outs = {key: old.get(key) for key in OUTPUTS}
        patch = {key: new[key] for key in _PATCHABLE if key in changed}
        client = self.client
        if patch:
            try:
                update = CustomerUpdate.model_validate(patch)
            except ValidationError as err:
                raise InputValidationError.from_pydantic(
                    err, subject=f"update of customer {_id}"
                ) from None
            customer = client.update_customer(_id, update)
            outs.update(
                _outputs(
                    customer,
                    old.get(LOCATION_ID),
                    outs,
                    at_location={
                        item.prop: old.get(item.prop)
                        for item in FIELDS.outputs
                        if item.live == "location"
                    },
                )
            )
        if CHECKPOINT in changed:
            location_id = old.get(LOCATION_ID)
            if not location_id:
                raise PlumeResourceError(
                    f"customer {_id} has no location to set the onboarding checkpoint on; "
                    "run pulumi refresh"
                )
            result = client.set_onboarding_checkpoint(_id, location_id, new[CHECKPOINT])
            outs[CHECKPOINT] = result.value
        return UpdateResult(outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Delete the customer (its locations are archived, its nodes unclaimed)."""
        try:
            self.client.delete_customer(_id)
        except AuthenticationError:
            if not self._confirmed_unknown(_id, _props):
                raise


def _args_class() -> type[Any]:
    """`PlumeCustomerArgs` from the table: one field per input, snake_case, required ones first,
    each documented by its field's `doc` (`__doc__` lists them: dataclass fields have none)."""
    required = [(f.attribute, Any) for f in FIELDS.inputs if not _optional_input(f)]
    optional = [
        (f.attribute, Any, field(default=None)) for f in FIELDS.inputs if _optional_input(f)
    ]
    docs = "\n".join(f"* `{f.attribute}`: {f.doc}" for f in FIELDS.inputs)
    cls = make_dataclass("PlumeCustomerArgs", [*required, *optional])
    cls.__module__ = __name__
    cls.__doc__ = f"Inputs of a `PlumeCustomer` (the API's fields, snake_case):\n\n{docs}"
    return cls


def _optional_input(item: CustomerField) -> bool:
    return item.optional or item.provider_default


if TYPE_CHECKING:
    # What type checkers and IDEs read; at run time the class is built from the table
    # (`_args_class`), and tests/provider/test_customer_fields_typed.py holds these lines equal
    # to it.
    @dataclass
    class PlumeCustomerArgs:
        """Inputs of a `PlumeCustomer` (the API's fields, snake_case)."""

        account_id: pulumi.Input[str]
        partner_id: pulumi.Input[str] | None = None
        name: pulumi.Input[str] | None = None
        email: pulumi.Input[str] | None = None
        profile: pulumi.Input[Literal["auto", "smallbusiness"]] | None = None
        accept_language: pulumi.Input[str] | None = None
        onboarding_checkpoint: pulumi.Input[Literal["PodsAdded", "OnboardingComplete"]] | None = (
            None
        )
        adopt: pulumi.Input[bool] | None = None
        import_id: pulumi.Input[str] | None = None

else:
    PlumeCustomerArgs = _args_class()


class PlumeCustomer(PlumeResource, module="plume", name="Customer"):
    """A Plume customer (account + first location); type `pulumi-python:dynamic/plume:Customer`."""

    _PROPERTIES = (*OUTPUTS, *_TAKEOVER_INPUTS)
    _ARGS = PlumeCustomerArgs

    if TYPE_CHECKING:  # for type checkers and IDEs only (see PlumeResource)
        customer_id: pulumi.Output[str]
        location_id: pulumi.Output[str]
        account_id: pulumi.Output[str]
        partner_id: pulumi.Output[str]
        name: pulumi.Output[str | None]
        email: pulumi.Output[str]
        profile: pulumi.Output[str]
        accept_language: pulumi.Output[str]
        onboarding_checkpoint: pulumi.Output[str | None]
        created_at: pulumi.Output[str | None]
        adopt: pulumi.Output[bool | None]
        import_id: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: PlumeCustomerArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(CustomerProvider(), resource_name, args, opts)
