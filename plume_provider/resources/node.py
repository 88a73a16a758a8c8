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
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)
from pydantic import BaseModel, ConfigDict, StrictBool
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from plume_provider.client.errors import AuthenticationError, NotFoundError
from plume_provider.client.models import CustomerId, LocationId, Nickname, Node, SerialNumber
from plume_provider.resources.base import (
    PROVIDER_KEY,
    DiffSpec,
    PlumeProviderBase,
    PlumeResource,
    PlumeResourceError,
    check_failures_from_pydantic,
    gone,
    is_unknown,
    known_inputs,
    logger,
)
from plume_provider.resources.node_cache import LocationListings, PackClaims

__all__ = ["NODE_DIFF", "NodeProvider", "PlumeNode", "PlumeNodeArgs"]

INPUTS = ("customerId", "locationId", "serialNumber", "nickname", "adopt")
_RENAMED = {"id": "nodeId"}
NODE_FIELDS: dict[str, str] = {
    _RENAMED.get(name, to_camel(name)): name for name in Node.model_fields
}
"""Output property -> `Node` attribute, for every node field (Pulumi reserves `id`: `nodeId`)."""
OUTPUTS = tuple(NODE_FIELDS)

NODE_DIFF = DiffSpec(
    replace=("customerId", "locationId", "serialNumber"),
    update=("nickname",),
    optional=frozenset({"nickname"}),
    stables=("serialNumber", "nodeId", "customerId", "locationId"),
)


class _NodeInputs(BaseModel):
    """The rules of a node's inputs (the serial number's are the client's)."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    customer_id: CustomerId
    location_id: LocationId
    serial_number: SerialNumber
    nickname: Nickname | None = None
    adopt: StrictBool | None = None


def _outputs(node: Node, declared: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs from Plume's node; the declared ids fill what the answer leaves out."""
    outs = {prop: getattr(node, attr) for prop, attr in NODE_FIELDS.items()}
    for key in ("customerId", "locationId", "nickname"):
        if outs[key] is None:
            outs[key] = declared.get(key)
    if outs["nodeId"] is None:
        outs["nodeId"] = node.serial_number
    return outs


class NodeProvider(PlumeProviderBase):
    """Dynamic provider of `PlumeNode` (id: the serial number)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the ids and the serial number; unknown (preview) values pass."""
        inputs = dict(news)
        failures = [
            CheckFailure(key, f"unknown property; expected one of {', '.join(INPUTS)}")
            for key in inputs
            if key not in INPUTS and key != PROVIDER_KEY
        ]
        placeholders = {key for key in INPUTS if is_unknown(inputs.get(key))}
        values = known_inputs(inputs, INPUTS)
        for key in INPUTS[:3]:
            if key in placeholders:
                values[key] = "placeholder"
            elif key not in values:
                failures.append(CheckFailure(key, "required"))
                values[key] = "placeholder"
                placeholders.add(key)
        try:
            _NodeInputs.model_validate(values)
        except PydanticValidationError as err:
            failures.extend(check_failures_from_pydantic(err, ignore=placeholders))
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
        changed = NODE_DIFF.changed_keys(olds, news)
        replaced = [key for key in changed if key in NODE_DIFF.replace]
        if replaced:
            raise PlumeResourceError(
                f"node {_id}: {', '.join(replaced)} cannot change in place, only by unclaiming "
                "and claiming again; run pulumi preview, which shows the replacement"
            )
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


@dataclass
class PlumeNodeArgs:
    """Inputs of a `PlumeNode` (the API's fields, snake_case)."""

    customer_id: pulumi.Input[str]
    """Customer that owns the location (e.g. `customer.customer_id`)."""
    location_id: pulumi.Input[str]
    """Location to claim the node at (e.g. `customer.location_id`)."""
    serial_number: pulumi.Input[str]
    """Serial number; must be in the partner's inventory and not claimed elsewhere."""
    nickname: pulumi.Input[str] | None = None
    """Friendly name of the node; changing it renames in place."""
    adopt: pulumi.Input[bool] | None = None
    """Expect the node claimed at the location already: read it there instead of claiming."""


class PlumeNode(PlumeResource, module="plume", name="Node"):
    """A claimed Plume node; type `pulumi-python:dynamic/plume:Node`; id: the serial number."""

    _PROPERTIES = (*OUTPUTS, "adopt")
    _ARGS = PlumeNodeArgs

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

    def __init__(
        self,
        resource_name: str,
        args: PlumeNodeArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(NodeProvider(), resource_name, args, opts)
