"""Discover's four look-ups, each through the journal, answers as plain JSON.

Which customer and location values an answer carries comes from the customer field table: every
registered field Plume gives in a search hit or a location, by its API name, so a new field is
looked up (and journaled) without an edit here. `SHAPES` is what a journaled answer of each call
must look like when read back.
"""

from __future__ import annotations

from typing import Any, Final, NotRequired, Optional

from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic's TypedDict on Python 3.11

from plume_provider.client import PlumeClient
from plume_provider.client.customer_fields import CUSTOMER_FIELDS
from plume_provider.client.errors import NotFoundError, PermissionDeniedError
from plume_provider.discover.journal import Journal

__all__ = ["SHAPES", "Lookups"]


class SearchAnswer(TypedDict):
    """The customer with the CRM's accountId: its id, location ids, then its table fields."""

    id: str
    locationIds: list[str]


class NodeAnswer(TypedDict):
    serialNumber: str
    nickname: str | None


class LookupAnswer(TypedDict):
    """Where a serial is: not in the inventory (another partner's?), claimed, or free."""

    inventory: bool
    otherPartner: NotRequired[bool]
    customerId: NotRequired[str | None]
    locationId: NotRequired[str | None]


SHAPES: Final[dict[str, TypeAdapter[Any]]] = {
    "search": TypeAdapter(Optional[SearchAnswer]),  # noqa: UP045 (a runtime type)
    "locations": TypeAdapter(Optional[dict[str, Optional[str]]]),  # noqa: UP045
    "nodes": TypeAdapter(list[NodeAnswer]),
    "lookup": TypeAdapter(LookupAnswer),
}

_AT_CUSTOMER: Final = tuple(f for f in CUSTOMER_FIELDS.registered if f.live == "customer")
_AT_LOCATION: Final = tuple(f for f in CUSTOMER_FIELDS.registered if f.live == "location")


class Lookups:
    """The look-ups one CRM customer needs, each answered once (then from the journal)."""

    def __init__(self, client: PlumeClient, journal: Journal) -> None:
        self.client = client
        self.journal = journal

    def search(self, account_id: str) -> dict[str, Any] | None:
        """The customer of this partner with this accountId, or None."""

        def call() -> dict[str, Any] | None:
            hits = self.client.find_customers_by_account_id(account_id)
            if not hits:
                return None
            hit = hits[0]
            live = hit.model_dump(by_alias=True, mode="json")
            return {
                "id": hit.id,
                "locationIds": hit.location_ids,
                **{f.api: f.live_value(live, None) for f in _AT_CUSTOMER},
            }

        found: dict[str, Any] | None = self.journal.answer("search", account_id, call)
        return found

    def location(self, customer_id: str) -> dict[str, Any] | None:
        """The table's location fields of the customer's first location (None: it has none)."""

        def call() -> dict[str, Any] | None:
            locations = self.client.list_locations(customer_id)
            if not locations:
                return None
            live = locations[0].model_dump(by_alias=True, mode="json")
            return {f.api: f.live_value({}, live) for f in _AT_LOCATION}

        location: dict[str, Any] | None = self.journal.answer("locations", customer_id, call)
        return location

    def nodes(self, customer_id: str, location_id: str) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [
                {"serialNumber": n.serial_number, "nickname": n.nickname}
                for n in self.client.list_nodes(customer_id, location_id)
            ]

        nodes: list[dict[str, Any]] = self.journal.answer(
            "nodes", f"{customer_id}/{location_id}", call
        )
        return nodes

    def lookup(self, serial: str) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            try:
                found = self.client.lookup_node(serial)
            except NotFoundError:
                return {"inventory": False}
            except PermissionDeniedError:
                return {"inventory": False, "otherPartner": True}
            return {
                "inventory": True,
                "customerId": found.customer_id,
                "locationId": found.location_id,
            }

        where: dict[str, Any] = self.journal.answer("lookup", serial, call)
        return where
