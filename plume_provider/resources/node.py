"""`PlumeNode`: a node (gateway or pod) claimed at a customer's location, declared in code.

Input properties: `customerId`, `locationId`, `serialNumber` (all required), `nickname`,
`adopt` (the node is expected to be claimed at that location already: create reads it there,
one list call, and claims it only if it is not; `plume-fleet discover` sets it on the nodes of
discovered customers so bringing them under code claims nothing).
Outputs: every node field of Plume's API in camelCase (`serialNumber`, `nodeId` for Plume's
`id`, `nickname`, `residentialGateway`, `radioMac24`, ..., `version` for `_version`,
`createdAt`, `updatedAt`) plus `customerId` and `locationId`.

Changes: `customerId`, `locationId`, `serialNumber` replace the node, unclaiming first (a serial
cannot be claimed twice); `nickname` is a rename in place.

`NodeProvider` is referenced by this module path from every stack state: keep it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from typing import TYPE_CHECKING, Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)
from pydantic import BaseModel, ConfigDict, create_model
from pydantic.alias_generators import to_camel

from plume_provider.client.errors import AuthenticationError, NotFoundError
from plume_provider.client.models import Node
from plume_provider.client.node_fields import NODE_FIELDS, NODE_ID, NODE_OUTPUTS
from plume_provider.resources.base import (
    DiffSpec,
    PlumeProviderBase,
    PlumeResource,
    PlumeResourceError,
    check_inputs,
    gone,
    logger,
)
from plume_provider.resources.node_cache import LocationListings, PackClaims

__all__ = ["NODE_DIFF", "NodeProvider", "PlumeNode", "PlumeNodeArgs"]

INPUTS = NODE_FIELDS.inputs
OUTPUTS = tuple(NODE_OUTPUTS)

NODE_DIFF = DiffSpec(
    kind="node",
    replaced_by="unclaiming and claiming again",
    replace=NODE_FIELDS.replaced_by_change,
    update=NODE_FIELDS.updated_in_place,
    optional=NODE_FIELDS.optional_in_place,
    stables=(*(f.api for f in NODE_FIELDS if f.stable), NODE_ID),
)


def _inputs_model() -> type[BaseModel]:
    """The rules of a node's inputs, from the table (the rules are the client's)."""
    definitions: dict[str, Any] = {
        f.attribute: (f.rule, ...) if f.required else (Optional[f.rule], None)  # noqa: UP045
        for f in NODE_FIELDS
    }
    return create_model(
        "_NodeInputs",
        __config__=ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True),
        **definitions,
    )


_NodeInputs = _inputs_model()


def _outputs(node: Node, declared: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs from Plume's node; the declared ids fill what the answer leaves out."""
    outs = {prop: getattr(node, attr) for prop, attr in NODE_OUTPUTS.items()}
    for key in ("customerId", "locationId", "nickname"):
        if outs[key] is None:
            outs[key] = declared.get(key)
    if outs[NODE_ID] is None:
        outs[NODE_ID] = node.serial_number
    return outs


class NodeProvider(PlumeProviderBase):
    """Dynamic provider of `PlumeNode` (id: the serial number)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the ids and the serial number; unknown (preview) values pass."""
        inputs = dict(news)
        failures = check_inputs(
            inputs,
            accepted=INPUTS,
            rules=_NodeInputs,
            validated=INPUTS,
            required=dict.fromkeys(NODE_FIELDS.required, ""),
        )
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Where a node is claimed replaces it (unclaim first); the nickname updates it."""
        return NODE_DIFF.diff(olds, news)

    _listings: LocationListings
    _pack_claims: PackClaims

    def _reset_runtime(self) -> None:
        super()._reset_runtime()
        self._listings = LocationListings()
        self._pack_claims = PackClaims()

    def configure(self, req: ConfigureRequest) -> None:
        """As the base class; what this object remembers of the API is forgotten too."""
        super().configure(req)
        self._listings.clear()
        self._pack_claims.clear()

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Claim the node; already claimed at this location counts as success (adopted).

        With `adopt: true` the location's nodes are read first, and a node found there is
        taken over without a claim call (renamed if the nickname differs).

        Otherwise one call: the claim (with the nickname). A node a pack sibling's claim of
        this process claimed moments ago is only renamed, when its nickname differs (one call).
        Claims at one location wait for each other (`PackClaims.claiming`), so a sibling
        never races the claim that claims it.
        """
        customer_id, location_id, serial = _where(props)
        nickname = props.get("nickname")
        client = self.client
        self._listings.forget(customer_id, location_id)
        if props.get("adopt") is True:
            found = _pick_serial(client.list_nodes(customer_id, location_id), serial)
            if found is not None:
                if nickname is not None and found.nickname != nickname:
                    found = client.rename_node(
                        customer_id, location_id, found.id or serial, nickname
                    )
                logger.info("node %s: already claimed at location %s, adopted", serial, location_id)
                return CreateResult(found.serial_number, _outputs(found, props))
        with self._pack_claims.claiming(customer_id, location_id):
            sibling = self._pack_claims.take(customer_id, location_id, serial)
            if sibling is None:
                result = client.claim_node(
                    customer_id,
                    location_id,
                    serial,
                    nickname,
                    known=lambda: self._pack_claims.take(customer_id, location_id, serial),
                )
                others = [n for n in result.claimed if n.serial_number != serial]
                self._pack_claims.remember(customer_id, location_id, others)
        if sibling is not None:
            return self._create_claimed_sibling(sibling, props)
        node = result.node
        if nickname is not None and node.nickname != nickname:
            node = client.rename_node(customer_id, location_id, node.id or serial, nickname)
        if others:
            logger.warning(
                "claiming %s also claimed %s of its pack at location %s (each uses a license); "
                "declare them as PlumeNode resources to manage them",
                serial,
                ", ".join(sorted(n.serial_number for n in others)),
                location_id,
            )
        if result.warning:
            logger.warning("%s", result.warning)
        return CreateResult(node.serial_number, _outputs(node, props))

    def _create_claimed_sibling(self, sibling: Node, props: dict[str, Any]) -> CreateResult:
        """A node a pack sibling's claim of this process claimed: renamed if need be (1 call)."""
        customer_id, location_id, serial = _where(props)
        nickname = props.get("nickname")
        if nickname is None or sibling.nickname == nickname:
            return CreateResult(sibling.serial_number, _outputs(sibling, props))
        try:
            node = self.client.rename_node(customer_id, location_id, sibling.id or serial, nickname)
        except NotFoundError:  # unclaimed since: claim it as any other node
            return self.create(props)
        return CreateResult(node.serial_number, _outputs(node, props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The node as listed at its declared location; gone if unclaimed or moved elsewhere.

        The nodes of one location are read from one listing (`LocationListings`), so a refresh
        costs one call per location, not per node. The listing carries every node field, so
        an out-of-band rename shows as drift. From inputs alone (import, no location known)
        the serial is looked up first.
        """
        serial = props.get("serialNumber") or id_
        customer_id, location_id = props.get("customerId"), props.get("locationId")
        if not (isinstance(customer_id, str) and customer_id) or not (
            isinstance(location_id, str) and location_id
        ):
            return self._read_by_lookup(serial, props)
        client = self.client
        try:
            node = self._listings.node(
                customer_id,
                location_id,
                serial,
                lambda: client.list_nodes(customer_id, location_id),
            )
        except NotFoundError:
            return gone()  # the customer was deleted or the location archived
        except AuthenticationError:
            # Plume answers 401 for a customer unknown to this caller, and for bad credentials:
            # the lookup tells them apart (it fails as well when the credentials are bad).
            lookup = client.lookup_node(serial)
            if lookup.customer_id == customer_id and lookup.location_id == location_id:
                raise
            return gone()
        if node is None or (node.location_id or location_id) != location_id:
            return gone()
        if (node.customer_id or customer_id) != customer_id:
            return gone()
        outs = _outputs(node, props)
        inputs = {key: outs[key] for key in INPUTS if outs.get(key) is not None}
        return ReadResult(id_=node.serial_number, outs=outs, inputs=inputs)

    def _read_by_lookup(self, serial: str, props: dict[str, Any]) -> ReadResult:
        """Where the serial is claimed now (a lookup), then its fields from that location."""
        client = self.client
        try:
            lookup = client.lookup_node(serial)
        except NotFoundError:
            return gone()
        if lookup.customer_id is None or lookup.location_id is None:
            return gone()
        outs = {key: props.get(key) for key in OUTPUTS}
        outs.update(
            serialNumber=lookup.serial_number,
            customerId=lookup.customer_id,
            locationId=lookup.location_id,
            packId=lookup.pack_id or outs["packId"],
        )
        node = next(
            (
                n
                for n in client.list_nodes(lookup.customer_id, lookup.location_id)
                if n.serial_number == lookup.serial_number
            ),
            None,
        )
        if node is not None:
            outs = _outputs(node, outs)
        inputs = {key: outs[key] for key in INPUTS if outs.get(key) is not None}
        return ReadResult(id_=lookup.serial_number, outs=outs, inputs=inputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rename the node when the nickname changed; no call otherwise."""
        changed = NODE_DIFF.in_place_changes(_id, olds, news)
        outs = {key: olds.get(key) for key in OUTPUTS}
        if "nickname" in changed:
            customer_id, location_id, serial = _where(olds)
            self._listings.forget(customer_id, location_id)
            node = self.client.rename_node(
                customer_id, location_id, olds.get("nodeId") or serial, news["nickname"]
            )
            fresh = _outputs(node, olds)
            outs.update({key: value for key, value in fresh.items() if value is not None})
            outs["nickname"] = news["nickname"]
        return UpdateResult(outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Unclaim the node (releases its license); already unclaimed or gone is success."""
        customer_id, location_id, serial = _where(props, serial=_id)
        client = self.client
        self._listings.forget(customer_id, location_id)
        try:
            client.unclaim_node(customer_id, location_id, serial)
        except AuthenticationError:
            # Plume answers 401 when the customer itself is gone: fine if the node is not here.
            lookup = client.lookup_node(serial)
            if lookup.customer_id == customer_id and lookup.location_id == location_id:
                raise


def _pick_serial(nodes: list[Node], serial: str) -> Node | None:
    return next((n for n in nodes if n.serial_number == serial), None)


def _where(props: Mapping[str, Any], serial: str | None = None) -> tuple[str, str, str]:
    """(customerId, locationId, serialNumber) of a node's properties."""
    customer_id = props.get("customerId")
    location_id = props.get("locationId")
    serial_number = props.get("serialNumber") or serial
    if not (customer_id and location_id and serial_number):
        raise PlumeResourceError(
            "a PlumeNode needs customerId, locationId and serialNumber; got "
            f"customerId={customer_id!r}, locationId={location_id!r}, "
            f"serialNumber={serial_number!r}"
        )
    return str(customer_id), str(location_id), str(serial_number)


def _args_class() -> type[Any]:
    """`PlumeNodeArgs` from the table: one field per input, snake_case, required ones first."""
    required = [(f.attribute, Any) for f in NODE_FIELDS if f.required]
    optional = [(f.attribute, Any, field(default=None)) for f in NODE_FIELDS if not f.required]
    cls = make_dataclass("PlumeNodeArgs", [*required, *optional])
    docs = "\n".join(f"* `{f.attribute}`: {f.doc}" for f in NODE_FIELDS)
    cls.__doc__ = f"Inputs of a `PlumeNode` (the API's fields, snake_case):\n\n{docs}"
    cls.__module__ = __name__
    return cls


if TYPE_CHECKING:
    # What type checkers and IDEs read; at run time the class is built from the table
    # (`_args_class`), and tests/provider/test_customer_fields_typed.py holds these lines equal.
    @dataclass
    class PlumeNodeArgs:
        """Inputs of a `PlumeNode` (the API's fields, snake_case)."""

        customer_id: pulumi.Input[str]
        location_id: pulumi.Input[str]
        serial_number: pulumi.Input[str]
        nickname: pulumi.Input[str] | None = None
        adopt: pulumi.Input[bool] | None = None

else:
    PlumeNodeArgs = _args_class()


class PlumeNode(PlumeResource, module="plume", name="Node"):
    """A claimed Plume node; type `pulumi-python:dynamic/plume:Node`; id: the serial number."""

    _PROPERTIES = (*OUTPUTS, *NODE_FIELDS.take_over)
    _ARGS = PlumeNodeArgs

    if TYPE_CHECKING:  # for type checkers and IDEs only (see PlumeResource)
        serial_number: pulumi.Output[str]
        node_id: pulumi.Output[str]
        nickname: pulumi.Output[str | None]
        residential_gateway: pulumi.Output[bool | None]
        customer_id: pulumi.Output[str]
        location_id: pulumi.Output[str]
        radio_mac24: pulumi.Output[str | None]
        radio_mac50: pulumi.Output[str | None]
        ethernet_mac: pulumi.Output[str | None]
        bluetooth_mac: pulumi.Output[str | None]
        macs: pulumi.Output[list[str] | None]
        pack_id: pulumi.Output[str | None]
        box_serial_number: pulumi.Output[str | None]
        part_number: pulumi.Output[str | None]
        manufacturer_firmware: pulumi.Output[str | None]
        purchase_order_number: pulumi.Output[str | None]
        ship_date: pulumi.Output[str | None]
        backhaul_dhcp_pool_idx: pulumi.Output[int | str | None]
        deployment: pulumi.Output[str | None]
        shard_number: pulumi.Output[str | int | None]
        version: pulumi.Output[str | int | None]
        created_at: pulumi.Output[str | None]
        updated_at: pulumi.Output[str | None]
        adopt: pulumi.Output[bool | None]

    def __init__(
        self,
        resource_name: str,
        args: PlumeNodeArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(NodeProvider(), resource_name, args, opts)
