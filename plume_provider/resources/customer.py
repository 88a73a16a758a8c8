"""`PlumeCustomer`: a Plume customer account (and its first location) declared in code.

Input properties (the API's names): `accountId` (required), `partnerId` (default: the
provider's partner), `name`, `email`, `profile` (`auto`), `acceptLanguage` (`en-US`),
`onboardingCheckpoint`, `adopt`. Outputs: `customerId`, `locationId`, `accountId`, `partnerId`,
`name`, `email`, `profile`, `acceptLanguage`, `onboardingCheckpoint`, `createdAt`.

Changes: `partnerId`, `profile` and `acceptLanguage` (fixed at registration) replace the
customer, deleting first; `accountId`, `name`, `email` are one PATCH; `onboardingCheckpoint`
is its own call; `adopt` changes nothing live.

`CustomerProvider` is referenced by this module path from every stack state: keep it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

from plume_provider.client.errors import (
    AuthenticationError,
    ConflictError,
    InputValidationError,
    NotFoundError,
    PlumeError,
    account_taken_hint,
)
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

INPUTS = (
    "accountId",
    "partnerId",
    "name",
    "email",
    "profile",
    "acceptLanguage",
    "onboardingCheckpoint",
    "adopt",
    "importId",
)
OUTPUTS = (
    "customerId",
    "locationId",
    "accountId",
    "partnerId",
    "name",
    "email",
    "profile",
    "acceptLanguage",
    "onboardingCheckpoint",
    "createdAt",
)
_REGISTRATION_INPUTS = INPUTS[:-2]
_TAKEOVER_INPUTS = ("adopt", "importId")
_PATCHABLE = ("accountId", "name", "email")
_DEFAULTS = {"profile": "auto", "acceptLanguage": "en-US"}

_REQUIRED = {
    "accountId": "declare the customer's CRM account id (a UUID if there is none)",
    "partnerId": "declare partnerId or set plume:partnerId (PLUME_PARTNER_ID) for the provider",
}

CUSTOMER_DIFF = DiffSpec(
    kind="customer",
    replaced_by="replacing the customer",
    replace=("partnerId", "profile", "acceptLanguage"),
    update=("accountId", "name", "email", "onboardingCheckpoint"),
    optional=frozenset({"name", "email", "onboardingCheckpoint"}),
    casefold=frozenset({"email"}),
    stables=("customerId", "locationId", "createdAt"),
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
    profile: str | None,
    checkpoint: str | None,
) -> dict[str, Any]:
    """Outputs from Plume's answer; declared values fill what the answer leaves out."""
    return {
        "customerId": customer.id,
        "locationId": location_id,
        "accountId": customer.account_id or declared.get("accountId"),
        "partnerId": customer.partner_id or declared.get("partnerId"),
        "name": customer.name if customer.name is not None else declared.get("name"),
        "email": customer.email or declared.get("email"),
        "profile": profile or declared.get("profile") or "auto",
        "acceptLanguage": customer.accept_language or declared.get("acceptLanguage"),
        "onboardingCheckpoint": checkpoint,
        "createdAt": customer.created_at or declared.get("createdAt"),
    }


def _live_checkpoint(location: Location) -> str | None:
    """The location's onboarding checkpoint, when Plume includes it in the location."""
    value = (location.model_extra or {}).get("onboardingCheckpoint")
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) else None


class CustomerProvider(PlumeProviderBase):
    """Dynamic provider of `PlumeCustomer` (id: the Plume customer id)."""

    # -- check / diff (no API call) -------------------------------------------------------

    def _normalize(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Declared inputs with every default filled, the provider's partner included."""
        result = _with_defaults(props)
        if result.get("partnerId") is None and (partner := self.default_partner_id()) is not None:
            result["partnerId"] = partner
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
        adopt = inputs.get("adopt")
        if adopt is not None and not is_unknown(adopt) and not isinstance(adopt, bool):
            failures.append(CheckFailure("adopt", "must be true or false"))
        import_id = inputs.get("importId")
        if import_id is not None and not is_unknown(import_id):
            problem = (
                id_problem("customerId", import_id)
                if isinstance(import_id, str)
                else "must be a Plume customer id (text)"
            )
            if problem is not None:
                failures.append(CheckFailure("importId", problem))
            elif adopt is True:
                failures.append(
                    CheckFailure("importId", "set either importId or adopt: true, not both")
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
        import_id = declared.get("importId")
        if isinstance(import_id, str) and import_id:
            return self._import(import_id, registration)
        if declared.get("adopt") is True:
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
            profile=registration.profile,
            checkpoint=registration.onboarding_checkpoint,
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
        differences = [
            f"{key}: live {live!r}, declared {wanted!r}"
            for key, live, wanted in (
                ("accountId", customer.account_id, registration.account_id),
                ("name", customer.name, registration.name),
                ("email", customer.email, registration.email),
            )
            if wanted is not None and not CUSTOMER_DIFF.same(key, live, wanted)
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
        changes = {
            key: value
            for key, value in (("name", registration.name), ("email", registration.email))
            if value is not None and not CUSTOMER_DIFF.same(key, getattr(customer, key), value)
        }
        if changes:
            customer = client.update_customer(customer_id, CustomerUpdate.model_validate(changes))
        checkpoint = _live_checkpoint(location) if location is not None else None
        wanted = registration.onboarding_checkpoint
        if wanted is not None and location is not None and wanted != checkpoint:
            checkpoint = client.set_onboarding_checkpoint(customer_id, location.id, wanted).value
        logger.info("%s: taken over", what)
        outs = _outputs(
            customer,
            location.id if location is not None else None,
            registration.model_dump(by_alias=True),
            profile=profile or registration.profile,
            checkpoint=checkpoint,
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
        declared_location = props.get("locationId")
        location = next(
            (loc for loc in locations if loc.id == declared_location),
            locations[0] if locations else None,
        )
        profile = location.profile if location is not None else None
        checkpoint = _live_checkpoint(location) if location is not None else None
        outs = _outputs(
            customer,
            location.id if location is not None else None,
            props,
            profile=profile,
            checkpoint=checkpoint or props.get("onboardingCheckpoint"),
        )
        inputs = {key: outs[key] for key in _REGISTRATION_INPUTS if outs.get(key) is not None}
        inputs.update({key: props[key] for key in _TAKEOVER_INPUTS if props.get(key) is not None})
        return ReadResult(id_=customer.id, outs=outs, inputs=inputs)

    def _confirmed_unknown(self, customer_id: str, props: Mapping[str, Any]) -> bool:
        """After a 401 on a customer: True if the credentials work and the id is not there.

        Plume answers 401 both for an unknown customer and for bad credentials; a search by
        the customer's accountId tells them apart (it fails too if the credentials are bad).
        """
        account_id = props.get("accountId")
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
                    old.get("locationId"),
                    outs,
                    profile=old.get("profile"),
                    checkpoint=old.get("onboardingCheckpoint"),
                )
            )
        if "onboardingCheckpoint" in changed:
            location_id = old.get("locationId")
            if not location_id:
                raise PlumeResourceError(
                    f"customer {_id} has no location to set the onboarding checkpoint on; "
                    "run pulumi refresh"
                )
            result = client.set_onboarding_checkpoint(_id, location_id, new["onboardingCheckpoint"])
            outs["onboardingCheckpoint"] = result.value
        return UpdateResult(outs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Delete the customer (its locations are archived, its nodes unclaimed)."""
        try:
            self.client.delete_customer(_id)
        except AuthenticationError:
            if not self._confirmed_unknown(_id, _props):
                raise


@dataclass
class PlumeCustomerArgs:
    """Inputs of a `PlumeCustomer` (the API's fields, snake_case)."""

    account_id: pulumi.Input[str]
    """CRM account id; unique per partner (a UUID if the CRM has none); no quote characters."""
    partner_id: pulumi.Input[str] | None = None
    """Plume partner id; default: the provider's `plume:partnerId` / `PLUME_PARTNER_ID`."""
    name: pulumi.Input[str] | None = None
    """Customer name ("First Last"); no quote characters."""
    email: pulumi.Input[str] | None = None
    """Login email for the Plume app; unique across the cloud (Plume invents one if omitted)."""
    profile: pulumi.Input[Literal["auto", "smallbusiness"]] | None = None
    """`auto` (HomePass, default) or `smallbusiness` (WorkPass); changing it replaces."""
    accept_language: pulumi.Input[str] | None = None
    """Language of the account, e.g. `en-US` (default); changing it replaces."""
    onboarding_checkpoint: pulumi.Input[Literal["PodsAdded", "OnboardingComplete"]] | None = None
    """Last onboarding step passed: `PodsAdded` or `OnboardingComplete`."""
    adopt: pulumi.Input[bool] | None = None
    """Take over an existing customer with this partnerId + accountId instead of failing."""
    import_id: pulumi.Input[str] | None = None
    """Bring the existing customer with this Plume id under the stack (values must match)."""


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
