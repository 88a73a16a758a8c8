"""Pydantic models of Plume's requests and responses.

Attributes are snake_case, the wire names are the API's camelCase (aliases; `populate_by_name`
so either works). Response models allow extra fields: a new field in Plume's answer must never
break a deployment. Input models forbid extras and enforce the register rules of the seed
before any call is made.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

from plume_provider.client.errors import InputValidationError
from plume_provider.client.identifiers import (
    IdKind,
    account_id_problem,
    character_problem,
    id_problem,
    shown,
)

__all__ = [
    "AccountId",
    "CheckpointResult",
    "ClaimResult",
    "Customer",
    "CustomerId",
    "CustomerName",
    "CustomerRegistration",
    "CustomerSearchResult",
    "CustomerUpdate",
    "Email",
    "Location",
    "LocationId",
    "Nickname",
    "Node",
    "NodeLookup",
    "NonBlankId",
    "OnboardingCheckpoint",
    "Profile",
    "SerialNumber",
    "validate_serial_number",
]

Profile: TypeAlias = Literal["auto", "smallbusiness"]
OnboardingCheckpoint: TypeAlias = Literal["PodsAdded", "OnboardingComplete"]

MAX_TEXT_LENGTH = 255
"""Longest name, accountId or nickname accepted. Plume documents no limit; the emulator applies
the same one (docs/architecture.md, "Input rules: client and emulator agree")."""

MAX_EMAIL_LENGTH = 254
"""RFC 5321's limit on a forward path; local part at most 64, each domain label at most 63."""

_FORBIDDEN_QUOTES = ("\u201c", "\u201d", '"')
_ACCEPT_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-(?:[A-Z]{2}|[0-9]{3}))?")
_EMAIL_LOCAL_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-"
)
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_DOMAIN = re.compile(r"[A-Za-z]{2,63}")


def _no_quotes(value: str) -> str:
    if any(quote in value for quote in _FORBIDDEN_QUOTES):
        raise ValueError('must not contain the quote characters \u201c \u201d or "')
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _plain_text(value: str) -> str:
    """Bounded, printable text: a 10 KB name or a lone surrogate fails here, not at Plume."""
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"must be at most {MAX_TEXT_LENGTH} characters (got {len(value)})")
    problem = character_problem(value)
    if problem is not None:
        raise ValueError(f"must contain only printable characters; it {problem}")
    return value


def _searchable(value: str) -> str:
    problem = account_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _email_problem(value: str) -> str | None:
    """Why `value` is not a plain ASCII address `local@domain.tld`, or None."""
    if len(value) > MAX_EMAIL_LENGTH:
        return f"must be at most {MAX_EMAIL_LENGTH} characters (got {len(value)})"
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return "needs the form name@example.org"
    if "@" in local:
        return "must contain one '@'"
    if len(local) > 64:
        return "must have at most 64 characters before the '@'"
    atoms = local.split(".")
    if any(not atom for atom in atoms):
        return "must not start or end with '.' or have '..' before the '@'"
    if any(char not in _EMAIL_LOCAL_CHARS for atom in atoms for char in atom):
        return "may contain only ASCII letters, digits, '.' and !#$%&'*+/=?^_`{|}~- before the '@'"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "needs a domain like example.org (letters, digits, '-' between dots)"
    if not _TOP_LEVEL_DOMAIN.fullmatch(labels[-1]):
        return "needs a top-level domain of letters, like .org"
    return None


def _email(value: str) -> str:
    problem = _email_problem(value)
    if problem is not None:
        raise ValueError(f"is not a well-formed email address: {problem}")
    return value


def _accept_language(value: str) -> str:
    if not _ACCEPT_LANGUAGE.fullmatch(value):
        raise ValueError(
            "must look like 'en-US' or 'en' (a language, then optionally '-' and a region of "
            "two capital letters or three digits: 'fr-CA', 'es-419')"
        )
    return value


def _path_id(kind: IdKind) -> AfterValidator:
    def rule(value: str) -> str:
        problem = id_problem(kind, value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(rule)


def _serial(value: str) -> str:
    problem = id_problem("serialNumber", value)
    if problem is not None:
        raise ValueError(f"serial number {problem}")
    return value


CustomerName = Annotated[str, AfterValidator(_plain_text), AfterValidator(_no_quotes)]
AccountId = Annotated[
    str,
    AfterValidator(_not_blank),
    AfterValidator(_plain_text),
    AfterValidator(_no_quotes),
    AfterValidator(_searchable),
]
Nickname = Annotated[str, AfterValidator(_plain_text)]
NonBlankId = Annotated[str, AfterValidator(_not_blank), AfterValidator(_plain_text)]
Email = Annotated[str, AfterValidator(_email)]
AcceptLanguage = Annotated[str, AfterValidator(_accept_language)]
SerialNumber = Annotated[str, AfterValidator(_serial)]
CustomerId = Annotated[str, _path_id("customerId")]
LocationId = Annotated[str, _path_id("locationId")]


def validate_serial_number(value: str) -> str:
    """Return `value` if it is a usable serial number, else raise `InputValidationError`."""
    if not isinstance(value, str):
        raise InputValidationError(
            f"serial number must be a string, got {type(value).__name__}",
            [("serialNumber", "must be a string")],
        )
    problem = id_problem("serialNumber", value)
    if problem is not None:
        raise InputValidationError(
            f"serial number {shown(value)} {problem}; check the serial on the node's label",
            [("serialNumber", f"serial number {problem}")],
        )
    return value


class _InputModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON body Plume expects (camelCase, unset optionals left out)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class _ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class CustomerRegistration(_InputModel):
    """Body of `POST /Customers/register`."""

    account_id: AccountId
    partner_id: Annotated[str, AfterValidator(_not_blank)]
    name: CustomerName | None = None
    email: Email | None = None
    profile: Profile = "auto"
    accept_language: AcceptLanguage = "en-US"
    onboarding_checkpoint: OnboardingCheckpoint | None = None


class CustomerUpdate(_InputModel):
    """Body of `PATCH /Customers/{id}`: any of accountId, name, email."""

    account_id: AccountId | None = None
    name: CustomerName | None = None
    email: Email | None = None


class Customer(_ApiModel):
    """A customer (account) as Plume returns it; `location_id` is set after register."""

    id: str
    account_id: str | None = None
    partner_id: str | None = None
    name: str | None = None
    email: str | None = None
    accept_language: str | None = None
    email_verified: bool | None = None
    created_at: str | None = None
    location_id: str | None = None
    version: str | int | None = Field(default=None, alias="_version")


class Location(_ApiModel):
    """A customer's location; `num_pods_authorized` comes from `authorizations`."""

    id: str
    name: str | None = None
    customer_id: str | None = None
    partner_id: str | None = None
    account_id: str | None = None
    profile: str | None = None
    service_id: str | None = None
    num_pods_authorized: int | None = None
    created_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_authorizations(cls, data: Any) -> Any:
        if isinstance(data, dict):
            auth = data.get("authorizations")
            if isinstance(auth, dict) and "numPodsAuthorized" in auth:
                data = {**data, "numPodsAuthorized": auth["numPodsAuthorized"]}
        return data


class CheckpointResult(_ApiModel):
    """The `checkpoint` object returned by the onboardingCheckpoint call."""

    value: str
    timestamp: str | None = None


class CustomerSearchResult(_ApiModel):
    """One hit of `GET /Partners/customers/search/{value}`."""

    id: str
    account_id: str | None = None
    name: str | None = None
    email: str | None = None
    location_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _lift_locations(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("locations"), list):
            ids = [
                str(loc["id"])
                for loc in data["locations"]
                if isinstance(loc, dict) and loc.get("id") is not None
            ]
            data = {**data, "locationIds": ids}
        return data


class Node(_ApiModel):
    """A claimed node (gateway or extender)."""

    serial_number: str
    id: str | None = None
    nickname: str | None = None
    residential_gateway: bool | None = None
    customer_id: str | None = None
    location_id: str | None = None
    radio_mac24: str | None = None
    radio_mac50: str | None = None
    ethernet_mac: str | None = None
    bluetooth_mac: str | None = None
    macs: list[str] | None = None
    pack_id: str | None = None
    box_serial_number: str | None = None
    part_number: str | None = None
    manufacturer_firmware: str | None = None
    purchase_order_number: str | None = None
    ship_date: str | None = None
    backhaul_dhcp_pool_idx: int | str | None = None
    deployment: str | None = None
    shard_number: str | int | None = None
    version: str | int | None = Field(default=None, alias="_version")
    created_at: str | None = None
    updated_at: str | None = None


class NodeLookup(_ApiModel):
    """`GET /Partners/nodes/{serial}`: who owns a serial (customer/location None if unclaimed)."""

    serial_number: str
    pack_id: str | None = None
    partner_id: str | None = None
    customer_id: str | None = None
    location_id: str | None = None


class ClaimResult(BaseModel):
    """Outcome of `claim_node`.

    `node` is the requested serial; `claimed` every node this call claimed (a pack claims
    several); `already_claimed` means Plume claimed nothing new (204 / empty 200) and the node
    was confirmed at this location; `warning` is set when Plume answered 503 but the claim
    took effect.
    """

    node: Node
    claimed: list[Node] = Field(default_factory=list)
    already_claimed: bool = False
    warning: str | None = None
