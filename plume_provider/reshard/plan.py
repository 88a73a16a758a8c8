"""What a reshard moves, decided from the stacks' states and the fleet file alone (no I/O).

A customer in stack S's state whose fleet-file shard is T (not S's) moves to the stack of shard
T, with its nodes: those whose `customerId` output is the customer's id or whose dependencies
include its URN (the program declares a node from its customer's outputs). A customer the file
no longer lists is not a move (the removal guard of S's next `up` has it). Anything that would
make a move unsafe refuses the whole reshard before a single resource moves: two stacks
claiming one shard, a shard with no stack, a customer or node already in the destination's
state, a destination whose waves would not declare it, an interrupted update's leftovers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plume_provider.fleet.stack_state import ManagedCustomer, StackState

__all__ = [
    "CustomerMove",
    "ReshardError",
    "ReshardPlan",
    "ShardStack",
    "StackMove",
    "plan_lines",
    "plan_reshard",
]

_SHOWN = 10


class ReshardError(Exception):
    """A reshard refused or stopped; the message names the object and the next step."""


@dataclass(frozen=True)
class ShardStack:
    """One stack over the sharded fleet file: its name (as `pulumi stack ls` prints it), its
    `plume-fleet:shard`, its state, and the accounts its next `up` declares (its shard, within
    its waves)."""

    name: str
    shard: str
    state: StackState
    declared: frozenset[str]


@dataclass(frozen=True)
class CustomerMove:
    """One customer and its nodes, by URN in the source stack."""

    account_id: str
    urn: str
    node_serials: tuple[str, ...]
    node_urns: tuple[str, ...]


@dataclass(frozen=True)
class StackMove:
    """The customers one `pulumi state move --source --dest` carries."""

    source: str
    dest: str
    dest_shard: str
    customers: tuple[CustomerMove, ...]

    @property
    def urns(self) -> tuple[str, ...]:
        """Every URN to move: each customer, then its nodes."""
        return tuple(u for c in self.customers for u in (c.urn, *c.node_urns))


@dataclass(frozen=True)
class ReshardPlan:
    """The moves, per (source, dest) pair in name order, or the problems that refuse them."""

    moves: tuple[StackMove, ...]
    problems: tuple[str, ...]

    @property
    def customers(self) -> int:
        return sum(len(m.customers) for m in self.moves)

    @property
    def nodes(self) -> int:
        return sum(len(c.node_urns) for m in self.moves for c in m.customers)


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _nodes_of(customer: ManagedCustomer, state: StackState) -> list[str]:
    """The serials of the nodes in `state` that belong to `customer`, sorted."""
    return sorted(
        serial
        for serial, node in state.nodes.items()
        if (customer.customer_id is not None and node.customer_id == customer.customer_id)
        or (customer.urn and customer.urn in node.dependencies)
    )


def plan_reshard(
    stacks: Sequence[ShardStack], shard_of: Mapping[str, str], fleet_file: str
) -> ReshardPlan:
    """The moves that put every customer of `stacks`' states into the stack of the shard
    `shard_of` (accountId -> shard, from `fleet_file`) gives it, or the problems refusing them."""
    problems: list[str] = []
    by_shard: dict[str, ShardStack] = {}
    for stack in stacks:
        other = by_shard.setdefault(stack.shard, stack)
        if other is not stack:
            problems.append(
                f"stacks {other.name} and {stack.name} both declare plume-fleet:shard: "
                f"{stack.shard} over {fleet_file}; a shard is one stack's: change the shard of "
                "one of them (a stack holding that shard's customers keeps it)"
            )
    if problems:
        return ReshardPlan((), tuple(problems))
    pairs: dict[tuple[str, str], list[CustomerMove]] = {}
    involved: set[str] = set()
    for stack in sorted(stacks, key=lambda s: s.name):
        for account in sorted(stack.state.customers):
            shard = shard_of.get(account)
            if shard is None or shard == stack.shard:
                continue
            customer = stack.state.customers[account]
            dest = by_shard.get(shard)
            if dest is None:
                problems.append(
                    f"customer {account} (stack {stack.name}) is now in shard {shard!r} of "
                    f"{fleet_file}, which no stack declares: create that stack first (`pulumi "
                    f"stack init <name>`, with plume-fleet:fleetFile: {fleet_file} and "
                    f"plume-fleet:shard: {shard}), without running `up` on it, then rerun "
                    "plume-fleet reshard"
                )
                continue
            serials = _nodes_of(customer, stack.state)
            problems += _blocked(account, serials, stack, dest)
            pairs.setdefault((stack.name, dest.name), []).append(
                CustomerMove(
                    account,
                    customer.urn,
                    tuple(serials),
                    tuple(stack.state.nodes[s].urn for s in serials),
                )
            )
            involved |= {stack.name, dest.name}
    for stack in stacks:
        if stack.name in involved and stack.state.pending:
            problems.append(
                f"stack {stack.name} has {len(stack.state.pending)} unfinished operation(s) of "
                f"an interrupted update ({_listing(stack.state.pending)}); a state move would "
                f"drop them: finish them first (`pulumi refresh --stack {stack.name}`, or run "
                "its update again), then rerun plume-fleet reshard"
            )
    if problems:
        return ReshardPlan((), tuple(problems))
    shards = {s.name: s.shard for s in stacks}
    moves = tuple(
        StackMove(source, dest, shards[dest], tuple(customers))
        for (source, dest), customers in sorted(pairs.items())
    )
    return ReshardPlan(moves, ())


def _blocked(account: str, serials: list[str], source: ShardStack, dest: ShardStack) -> list[str]:
    """Why `account` (with its nodes `serials`) cannot move from `source` to `dest`."""
    problems = []
    if account in dest.state.customers:
        problems.append(
            f"customer {account} is in the state of both {source.name} and {dest.name} (a move "
            "that stopped half way, or an `up` of the new shard before reshard): find which "
            "copy is current (`pulumi stack export`), remove the other with `pulumi state "
            "delete --stack <stack> <urn>`, then rerun plume-fleet reshard"
        )
    both = [s for s in serials if s in dest.state.nodes]
    if both:
        problems.append(
            f"customer {account}'s node(s) {_listing(both)} are already in {dest.name}'s state "
            f"as well as {source.name}'s: remove the stale copy with `pulumi state delete "
            "--stack <stack> <urn>`, then rerun plume-fleet reshard"
        )
    if account not in dest.declared:
        problems.append(
            f"customer {account} moves to shard {dest.shard}, but stack {dest.name} would not "
            "declare it (its wave is above the stack's plume-fleet:wave), so its next `up` "
            f"would refuse to remove it: raise {dest.name}'s plume-fleet:wave or lower the "
            "customer's wave, then rerun plume-fleet reshard"
        )
    return problems


def plan_lines(plan: ReshardPlan) -> list[str]:
    """The plan in an operator's words: per source -> destination, each customer and nodes."""
    lines = []
    for move in plan.moves:
        nodes = sum(len(c.node_urns) for c in move.customers)
        lines.append(
            f"{move.source} -> {move.dest} (shard {move.dest_shard}): "
            f"{len(move.customers)} customer(s), {nodes} node(s)"
        )
        for customer in move.customers:
            held = ", ".join(customer.node_serials) or "no nodes"
            lines.append(f"  customer {customer.account_id}: {held}")
    return lines
