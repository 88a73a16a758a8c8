"""The operations the client performs, named once: an enum, and the context a failing one reports.

`Operation` keys the hint catalogue (`hints.py`) and is what `ApiError.operation` holds, so a
misspelt operation is an `AttributeError` (or a type error) where it is written, not a hint
that silently never matches. Each value is the `PlumeClient` method's name, but `FETCH_TOKEN`:
the OAuth token request made on the way to any call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Operation", "OperationContext"]


class Operation(StrEnum):
    """One Plume call the client makes; the value is its `PlumeClient` method's name."""

    REGISTER_CUSTOMER = "register_customer"
    GET_CUSTOMER = "get_customer"
    UPDATE_CUSTOMER = "update_customer"
    DELETE_CUSTOMER = "delete_customer"
    LIST_LOCATIONS = "list_locations"
    SET_ONBOARDING_CHECKPOINT = "set_onboarding_checkpoint"
    FIND_CUSTOMERS_BY_ACCOUNT_ID = "find_customers_by_account_id"
    CLAIM_NODE = "claim_node"
    LIST_NODES = "list_nodes"
    RENAME_NODE = "rename_node"
    UNCLAIM_NODE = "unclaim_node"
    LOOKUP_NODE = "lookup_node"
    FETCH_TOKEN = "fetch_token"
    """The OAuth token endpoint's request (not an API call): its failures name the endpoint."""


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What an operation was doing, for messages and hints.

    `operation` picks the hints, `subject` is a short human phrase (`claim node LAB-POD-0007`),
    `ids` the object ids the hint templates may name. A string `operation` is turned into its
    `Operation` (an unknown one raises `ValueError` here, not a hint lost later).
    """

    operation: Operation
    subject: str
    ids: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "operation", Operation(self.operation))
