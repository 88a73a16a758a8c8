"""The plume-fleet Pulumi program: the stack's customers and nodes, declared from stack config.

It only composes: the fleet is validated as a whole before any resource is declared, then each
customer becomes a `PlumeCustomer` named `customer-<accountId>` and each node a `PlumeNode` named
`node-<serialNumber>`, so names stay stable when the list is reordered.

The program is asynchronous (`pulumi.run`) for one reason: the Python SDK sends no registration
to the engine until the program yields, so a synchronous body keeps the whole fleet waiting
until its last resource is declared (docs/performance.md). Yielding after each customer lets
the engine start on the first customers while the rest are still being declared.

Before declaring anything the program reads what the stack manages now (`pulumi stack export`
through the CLI running it: the state as it is, a failed update's creations included) and
compares it with the fleet: one summary line in the operator's terms, and a refusal, before any
API call, of an update that would remove more than the removal budget or anything protected
(`plume_provider.fleet.removals`). `pulumi destroy` runs no program: it is the explicit way to
remove a whole stack.
"""

import asyncio
import os

import pulumi

from plume_provider.client import ConfigurationError, InputValidationError
from plume_provider.fleet import (
    CustomerSpec,
    Fleet,
    RemovalRefusedError,
    load_fleet,
    plan_fleet,
    read_allowance,
    read_stack_state,
    removal_problem,
    spent_output,
    summary_line,
)
from plume_provider.fleet.stack_config import fleet_config, refuse_plaintext_credentials
from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs
from plume_provider.resources.sdk_workarounds import apply_sdk_workarounds

apply_sdk_workarounds()


def declare_customer(spec: CustomerSpec, fleet: Fleet) -> PlumeCustomer:
    """One customer, protected or retained as the stack says, imported when it names an id."""
    return PlumeCustomer(
        f"customer-{spec.account_id}",
        PlumeCustomerArgs(**spec.customer_inputs()),
        opts=pulumi.ResourceOptions(
            protect=fleet.protects(spec), retain_on_delete=fleet.retain_on_delete
        ),
    )


async def main() -> None:
    """The program: a fleet refused before any call is shown as its message alone (a
    `pulumi.RunError`), not as a Python traceback the operator has to read past."""
    try:
        await declare_fleet()
    except (ConfigurationError, InputValidationError) as refused:
        raise pulumi.RunError(str(refused)) from None


async def declare_fleet() -> None:
    """Declare the fleet and export what an operator looks up afterwards."""
    refuse_plaintext_credentials()
    fleet = load_fleet(fleet_config(pulumi.Config()))
    state = read_stack_state(
        f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    )
    plan = plan_fleet(fleet, state)
    allowance = read_allowance(os.environ, fleet.allow_removals, state.outputs)
    refused = removal_problem(plan, allowance)
    if refused is not None:
        raise RemovalRefusedError(refused)
    pulumi.log.info(summary_line(plan))
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
                # protect covers the household: a protected customer's nodes stay claimed
                opts=pulumi.ResourceOptions(protect=True) if fleet.protects(spec) else None,
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
    spent = spent_output(plan, allowance)
    if spent is not None:
        pulumi.export("allowRemovalsSpent", spent)
    pulumi.export(
        "licensesInUse",
        pulumi.Output.all(*(n.id for n in nodes.values())).apply(
            lambda ids: sum(1 for node_id in ids if node_id)
        ),
    )


pulumi.run(main)
