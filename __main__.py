"""The plume-fleet Pulumi program: the stack's customers and nodes, declared from stack config.

It only composes: the fleet is validated as a whole before any resource is declared, then each
customer becomes a `PlumeCustomer` named `customer-<accountId>` and each node a `PlumeNode` named
`node-<serialNumber>`, so names stay stable when the list is reordered.

The program is asynchronous (`pulumi.run`) for one reason: the Python SDK sends no registration
to the engine until the program yields, so a synchronous body keeps the whole fleet waiting
until its last resource is declared (docs/performance.md). Yielding after each customer lets
the engine start on the first customers while the rest are still being declared.

Rollout waves: the program exports the wave it deployed (`wave`) and reads the previous one
back through a `StackReference` to its own stack (the last completed update's outputs), so a
lower `plume-fleet:wave` is refused before any resource is declared, hence before any API call,
unless `plume-fleet:allowShrink` is true.
"""

import asyncio

import pulumi

from plume_provider.fleet import (
    CustomerSpec,
    Fleet,
    FleetConfigError,
    load_fleet,
    shrink_problem,
)
from plume_provider.fleet.stack_config import fleet_config, refuse_plaintext_credentials
from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs


def declare_customer(spec: CustomerSpec, fleet: Fleet) -> PlumeCustomer:
    """One customer, protected or retained as the stack says, imported when it names an id."""
    return PlumeCustomer(
        f"customer-{spec.account_id}",
        PlumeCustomerArgs(
            account_id=spec.account_id,
            name=spec.name,
            email=spec.email,
            profile=spec.profile,
            accept_language=spec.accept_language,
            onboarding_checkpoint=spec.onboarding_checkpoint,
            adopt=spec.adopt,
            import_id=spec.import_id,
        ),
        opts=pulumi.ResourceOptions(
            protect=fleet.protects(spec), retain_on_delete=fleet.retain_on_delete
        ),
    )


async def previous_wave() -> int | None:
    """The `wave` output of this stack's last update (None before the first, or before waves)."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    own = pulumi.StackReference(
        f"{pulumi.get_organization()}/{project}/{stack}", opts=pulumi.ResourceOptions()
    )
    details = await own.get_output_details("wave")
    value = details.value  # numbers come back from the engine as floats
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


async def main() -> None:
    """Declare the fleet and export what an operator looks up afterwards."""
    refuse_plaintext_credentials()
    fleet = load_fleet(fleet_config(pulumi.Config()))
    if fleet.uses_waves:
        refused = shrink_problem(fleet, await previous_wave())
        if refused is not None:
            raise FleetConfigError([refused])
    customers: dict[str, PlumeCustomer] = {}
    nodes: dict[str, PlumeNode] = {}
    for spec in fleet.declared():
        customer = customers[spec.account_id] = declare_customer(spec, fleet)
        for node_spec in spec.nodes:
            nodes[node_spec.serial_number] = PlumeNode(
                f"node-{node_spec.serial_number}",
                PlumeNodeArgs(
                    customer_id=customer.customer_id,
                    location_id=customer.location_id,
                    serial_number=node_spec.serial_number,
                    nickname=node_spec.nickname,
                    # a customer taken over keeps its claimed nodes: read them, claim nothing
                    adopt=True if spec.import_id is not None or spec.adopt else None,
                ),
                # a customer's own protect covers its household's nodes too (a discovered
                # customer's hardware); the stack-wide flag protects customers only
                opts=pulumi.ResourceOptions(protect=True) if spec.protect else None,
            )
        await asyncio.sleep(0)

    pulumi.export(
        "customers",
        {
            account_id: {"customerId": c.customer_id, "locationId": c.location_id}
            for account_id, c in customers.items()
        },
    )
    pulumi.export(
        "nodes",
        {
            serial: {
                "customerId": n.customer_id,
                "locationId": n.location_id,
                "residentialGateway": n.residential_gateway,
            }
            for serial, n in nodes.items()
        },
    )
    if fleet.uses_waves:
        pulumi.export("wave", fleet.deployed_wave)
    pulumi.export(
        "licensesInUse",
        pulumi.Output.all(*(n.id for n in nodes.values())).apply(
            lambda ids: sum(1 for node_id in ids if node_id)
        ),
    )


pulumi.run(main)
