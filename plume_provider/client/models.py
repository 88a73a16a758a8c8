"""Pydantic models of Plume's requests and responses.

Attributes are snake_case, the wire names are the API's camelCase (aliases; `populate_by_name`
so either works). Response models allow extra fields: a new field in Plume's answer must never
break a deployment. Input models forbid extras and enforce the register rules of the seed
before any call is made. The value rules are `rules`'; the customer request models are built
from the customer field table (`customer_fields`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.alias_generators import to_camel

from plume_provider.client.customer_fields import CUSTOMER_FIELDS, REQUIRED, CustomerField
from plume_provider.client.rules import (
    MAX_EMAIL_LENGTH,
    MAX_TEXT_LENGTH,
    AcceptLanguage,
    AccountId,
    CustomerId,
    CustomerName,
    Email,
    LocationId,
    Nickname,
    NonBlankId,
    OnboardingCheckpoint,
    PartnerId,
    Profile,
    SerialNumber,
    validate_serial_number,
)

__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_TEXT_LENGTH",
    "AcceptLanguage",
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
    "PartnerId",
    "Profile",
    "SerialNumber",
    "validate_serial_number",
]


class _InputModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON body Plume expects (camelCase, unset optionals left out)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class _ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


def _request_model(name: str, doc: str, fields: Iterable[CustomerField], *, update: bool) -> Any:
    """A request model of the table's `fields` (all optional in an update)."""
    definitions: dict[str, Any] = {}
    for item in fields:
        if item.default is REQUIRED and not update:
            definitions[item.attribute] = (item.rule, Field(alias=item.api))
        elif item.default is None or item.default is REQUIRED:
            definitions[item.attribute] = (Optional[item.rule], Field(None, alias=item.api))  # noqa: UP045
        else:
            definitions[item.attribute] = (item.rule, Field(item.default, alias=item.api))
    return create_model(name, __base__=_InputModel, __doc__=doc, __module__=__name__, **definitions)


if TYPE_CHECKING:
    # What type checkers read; at run time both models are built from the table (below), and
    # tests/provider/test_customer_fields_typed.py holds these lines equal to it.
    class CustomerRegistration(_InputModel):
        account_id: AccountId
        partner_id: PartnerId
        name: CustomerName | None = None
        email: Email | None = None
        profile: Profile = "auto"
        accept_language: AcceptLanguage = "en-US"
        onboarding_checkpoint: OnboardingCheckpoint | None = None

    class CustomerUpdate(_InputModel):
        account_id: AccountId | None = None
        name: CustomerName | None = None
        email: Email | None = None

else:
    CustomerRegistration = _request_model(
        "CustomerRegistration",
        "Body of `POST /Customers/register`: the table's registered fields.",
        CUSTOMER_FIELDS.registered,
        update=False,
    )
    CustomerUpdate = _request_model(
        "CustomerUpdate",
        "Body of `PATCH /Customers/{id}`: any of the table's `update_customer` fields.",
        CUSTOMER_FIELDS.patched,
        update=True,
    )


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
