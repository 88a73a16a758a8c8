"""The node field table: every input of a claimed node, declared once.

One `NodeField` per input property: its API name, its rule (a type of `rules`), what a change
does (replace: unclaim and claim again; `rename_node` in place; nothing), whether it must be
declared, whether an in-place update keeps it, and whether a fleet file carries it. The
outputs are Plume's node as `models.Node` has it (`NODE_OUTPUTS`, Pulumi's `id` spelled
`nodeId`). Derived from it: the provider's inputs, check rules, diff, stables and
`PlumeNodeArgs` (`resources.node`), and the fleet's node columns (`fleet.file`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from pydantic import StrictBool
from pydantic.alias_generators import to_camel, to_snake

from plume_provider.client.models import Node
from plume_provider.client.rules import CustomerId, LocationId, Nickname, SerialNumber

__all__ = ["NODE_FIELDS", "NODE_OUTPUTS", "NodeField", "NodeFields"]

NodeChange: TypeAlias = Literal["replace", "rename_node", "nothing"]
"""What changing a declared value does: replace the node (unclaim first: a serial cannot be
claimed twice), one call in place (`PlumeClient.rename_node`), or nothing live."""


@dataclass(frozen=True)
class NodeField:
    """One input of a node (see the module docstring)."""

    api: str
    rule: Any
    doc: str
    change: NodeChange = "nothing"
    required: bool = False
    stable: bool = False
    """Kept by an in-place update (a rename keeps where the node is claimed)."""
    fleet: bool = False
    """A key of a fleet node (fleet-file column)."""
    take_over: bool = False
    """Says how to take a node over; an input only, never Plume's."""
    python_type: str = "str"

    @property
    def attribute(self) -> str:
        return to_snake(self.api)


class NodeFields:
    """The table, with the lists the layers derive from it."""

    def __init__(self, *fields: NodeField) -> None:
        self.fields = fields
        self.by_api = {f.api: f for f in fields}

    def __iter__(self) -> Iterator[NodeField]:
        return iter(self.fields)

    def __getitem__(self, api: str) -> NodeField:
        return self.by_api[api]

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields if f.required)

    @property
    def replaced_by_change(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields if f.change == "replace")

    @property
    def updated_in_place(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields if f.change == "rename_node")

    @property
    def optional_in_place(self) -> frozenset[str]:
        """Changed in place only while declared (Plume has no way to clear a nickname)."""
        return frozenset(f.api for f in self.fields if f.change != "replace" and not f.required)

    @property
    def take_over(self) -> tuple[str, ...]:
        return tuple(f.api for f in self.fields if f.take_over)

    @property
    def fleet(self) -> tuple[NodeField, ...]:
        return tuple(f for f in self.fields if f.fleet)


_RENAMED: Final = {"id": "nodeId"}
NODE_OUTPUTS: Final[dict[str, str]] = {
    _RENAMED.get(name, to_camel(name)): name for name in Node.model_fields
}
"""Output property -> `Node` attribute, for every node field (Pulumi reserves `id`: `nodeId`)."""
NODE_ID: Final = _RENAMED["id"]

NODE_FIELDS: Final = NodeFields(
    NodeField(
        "customerId",
        CustomerId,
        "Customer that owns the location (e.g. `customer.customer_id`).",
        change="replace",
        required=True,
        stable=True,
    ),
    NodeField(
        "locationId",
        LocationId,
        "Location to claim the node at (e.g. `customer.location_id`).",
        change="replace",
        required=True,
        stable=True,
    ),
    NodeField(
        "serialNumber",
        SerialNumber,
        "Serial number; must be in the partner's inventory and not claimed elsewhere.",
        change="replace",
        required=True,
        stable=True,
        fleet=True,
    ),
    NodeField(
        "nickname",
        Nickname,
        "Friendly name of the node; changing it renames in place.",
        change="rename_node",
        fleet=True,
    ),
    NodeField(
        "adopt",
        StrictBool,
        "Expect the node claimed at the location already: read it there instead of claiming.",
        take_over=True,
        python_type="bool",
    ),
)
