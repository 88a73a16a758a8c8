"""The fleet's plan against what the stack manages now, and the removal guard built on it.

`plan_fleet` compares the customers and nodes the fleet declares with the stack's state
(`fleet.stack_state`) by resource name, as the engine will. Removals are what the engine would
delete (customers) or unclaim (nodes) because the fleet no longer declares them; a replacement
keeps its name and is not one. `removal_problem` refuses, before anything is declared:

* more removals than the budget: at most max(1, 10 % of the managed customers), never more than
  5, and never every customer of a stack that manages more than one; the nodes of removed
  customers leave with them, plus at most 5 nodes on their own;
* any removal of a customer the fleet still lists in a wave above `plume-fleet:wave` (a lowered
  wave, or customers a failed update of a higher wave created);
* any removal of a customer the fleet now lists in another shard (a changed `shard` cell or
  `plume-fleet:shard`): removing it here would delete the household, not move it to the other
  shard's stack;
* the removal of a protected customer or node (the engine would unclaim a protected household's
  nodes before it reached the protected customer).

An allowance lifts the budget for exactly the count it names: `PLUME_FLEET_ALLOW_REMOVALS=N`
(one run) or `plume-fleet:allowRemovals: N`. The config form is spent by the update that uses
it: the program exports `allowRemovalsSpent: N`, and while the key still says N a later
removal is refused again. `summary_line` is the plan in an operator's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from plume_provider.client.errors import InputValidationError
from plume_provider.fleet.model import Fleet
from plume_provider.fleet.stack_state import StackState

__all__ = [
    "ALLOWANCE_ENV",
    "SPENT_OUTPUT",
    "Allowance",
    "FleetPlan",
    "RemovalRefusedError",
    "plan_fleet",
    "read_allowance",
    "removal_budget",
    "removal_problem",
    "spent_output",
    "summary_line",
]

ALLOWANCE_ENV = "PLUME_FLEET_ALLOW_REMOVALS"
SPENT_OUTPUT = "allowRemovalsSpent"
CONFIG_ALLOWANCE = "plume-fleet:allowRemovals"
MAX_CUSTOMER_REMOVALS = 5
MAX_LONE_NODE_REMOVALS = 5
_SHOWN = 20


class RemovalRefusedError(InputValidationError):
    """The update would remove more than the budget allows, or something protected; nothing
    was declared or sent to Plume."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [])

    def __reduce__(self) -> tuple[type[RemovalRefusedError], tuple[str]]:
        return (type(self), (str(self),))


@dataclass(frozen=True)
class FleetPlan:
    """What this update does to the stack's customers and nodes, by name."""

    added_customers: tuple[str, ...]
    removed_customers: tuple[str, ...]
    claims: tuple[str, ...]
    unclaims: tuple[str, ...]
    lone_unclaims: tuple[str, ...]
    renames: tuple[str, ...]
    protected_removals: tuple[str, ...]
    held_back: tuple[str, ...]
    moved: tuple[str, ...]
    managed_customers: int
    licenses_before: int
    licenses_after: int

    @property
    def removals(self) -> int:
        """Customers removed plus nodes unclaimed on their own (a removed customer's nodes
        leave with it and are not counted)."""
        return len(self.removed_customers) + len(self.lone_unclaims)


def plan_fleet(fleet: Fleet, state: StackState) -> FleetPlan:
    """Compare the customers and nodes `fleet` declares with those `state` holds."""
    declared = fleet.declared()
    accounts = {spec.account_id for spec in declared}
    nicknames = {node.serial_number: node.nickname for spec in declared for node in spec.nodes}
    # sorted: the state's order is the order steps finished in, which parallel updates vary
    removed = tuple(sorted(a for a in state.customers if a not in accounts))
    gone_ids = {state.customers[a].customer_id for a in removed} - {None}
    unclaims = tuple(sorted(s for s in state.nodes if s not in nicknames))
    lone = tuple(s for s in unclaims if state.nodes[s].customer_id not in gone_ids)
    renames = tuple(
        sorted(
            s
            for s, node in state.nodes.items()
            if s in nicknames and nicknames[s] is not None and nicknames[s] != node.nickname
        )
    )
    protected = tuple(
        [f"customer {a}" for a in removed if state.customers[a].protect]
        + [f"node {s}" for s in unclaims if state.nodes[s].protect]
    )
    listed = {spec.account_id for spec in fleet.owned()}
    elsewhere = {spec.account_id for spec in fleet.customers} - listed
    return FleetPlan(
        held_back=tuple(a for a in removed if a in listed),
        moved=tuple(a for a in removed if a in elsewhere),
        added_customers=tuple(
            s.account_id for s in declared if s.account_id not in state.customers
        ),
        removed_customers=removed,
        claims=tuple(s for s in nicknames if s not in state.nodes),
        unclaims=unclaims,
        lone_unclaims=lone,
        renames=renames,
        protected_removals=protected,
        managed_customers=len(state.customers),
        licenses_before=len(state.nodes),
        licenses_after=len(nicknames),
    )


def removal_budget(managed_customers: int) -> int:
    """How many customers one update may remove from a stack managing `managed_customers`."""
    budget = min(MAX_CUSTOMER_REMOVALS, max(1, managed_customers // 10))
    return min(budget, managed_customers - 1) if managed_customers > 1 else budget


@dataclass(frozen=True)
class Allowance:
    """An explicit `allowRemovals` count and where it came from (None: not given)."""

    count: int | None
    source: str
    spent: bool = False


def _listing(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def removal_problem(plan: FleetPlan, allowance: Allowance) -> str | None:
    """Why this update may not run as declared, or None."""
    if plan.protected_removals:
        return (
            f"this update would remove {len(plan.protected_removals)} protected resource(s) "
            f"the fleet no longer declares: {_listing(plan.protected_removals)}. Protect keeps "
            "a household and its nodes: declare them again, or set protect to false while they "
            "are still declared, run `pulumi up`, then remove them. Nothing was declared or "
            "sent to Plume"
        )
    budget = removal_budget(plan.managed_customers)
    over = (
        bool(plan.held_back)
        or bool(plan.moved)
        or len(plan.removed_customers) > budget
        or len(plan.lone_unclaims) > MAX_LONE_NODE_REMOVALS
    )
    if not over:
        return None
    if allowance.count is not None and not allowance.spent and allowance.count == plan.removals:
        return None
    what = []
    if plan.removed_customers:
        what.append(
            f"delete {len(plan.removed_customers)} of the {plan.managed_customers} customer(s) "
            f"the stack manages ({_listing(plan.removed_customers)}), unclaiming their nodes"
        )
    if plan.lone_unclaims:
        what.append(
            f"unclaim {len(plan.lone_unclaims)} node(s) of customers the fleet keeps "
            f"({_listing(plan.lone_unclaims)})"
        )
    waves = (
        f" {len(plan.held_back)} of them the fleet still lists in a wave above "
        f"plume-fleet:wave ({_listing(plan.held_back)}): a lowered wave removes nothing "
        "without an allowance."
        if plan.held_back
        else ""
    )
    moved = (
        f" {len(plan.moved)} of them the fleet lists in another shard ({_listing(plan.moved)}): "
        "a shard change moves customers to another stack, and moving is done by reshard, not "
        "by removal (this would delete the households): run `plume-fleet reshard` in the "
        "project directory, or put the shard cells back."
        if plan.moved
        else ""
    )
    if allowance.count is None:
        why = ""
    elif allowance.spent:
        why = (
            f" {allowance.source}: {allowance.count} was already used by an earlier update and "
            "allows nothing more; remove it from the stack config."
        )
    else:
        why = f" {allowance.source} is {allowance.count}, not {plan.removals}."
    return " ".join(
        [
            f"this update would {' and '.join(what)}: {plan.removals} removal(s), over this "
            f"stack's budget of {budget} customer(s) and {MAX_LONE_NODE_REMOVALS} node(s) on "
            f"their own per update.{waves}{moved}{why}",
            "If the fleet shrank by mistake (a cut or emptied fleet file, a removed setting, a "
            "lowered wave), fix it and run again. To remove them on purpose, run once with",
            f"{ALLOWANCE_ENV}={plan.removals} (or set {CONFIG_ALLOWANCE}: {plan.removals});",
            "`pulumi destroy` removes the whole stack. Nothing was declared or sent to Plume",
        ]
    )


def read_allowance(
    env: Mapping[str, str], config_value: int | None, outputs: Mapping[str, object]
) -> Allowance:
    """The allowance of this run: `PLUME_FLEET_ALLOW_REMOVALS` for one run, else
    `plume-fleet:allowRemovals` (validated with the fleet), spent when the stack's outputs say
    an earlier update used that same count."""
    text = env.get(ALLOWANCE_ENV, "").strip()
    if text:
        if not (text.isascii() and text.isdigit()):
            raise RemovalRefusedError(
                f"{ALLOWANCE_ENV} must be a whole number of removals (such as 3), not "
                f"{text[:40]!r}; nothing was declared or sent to Plume"
            )
        return Allowance(int(text), ALLOWANCE_ENV)
    if config_value is None:
        return Allowance(None, "")
    spent = outputs.get(SPENT_OUTPUT)
    return Allowance(
        config_value,
        CONFIG_ALLOWANCE,
        spent=isinstance(spent, int | float) and int(spent) == config_value,
    )


def spent_output(plan: FleetPlan, allowance: Allowance) -> int | None:
    """The `allowRemovalsSpent` output this update records: the config allowance's count when
    this update uses it or an earlier one did, so it stays spent while the key says so."""
    if allowance.source != CONFIG_ALLOWANCE or allowance.count is None:
        return None
    used = plan.removals > 0 and allowance.count == plan.removals
    return allowance.count if used or allowance.spent else None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def summary_line(plan: FleetPlan) -> str:
    """`plume-fleet: +3 customers, -1 customer, +7 claims, -2 unclaims, 2 renames; licenses
    340 -> 345`."""
    added = _count(len(plan.added_customers), "customer", "customers")
    removed = _count(len(plan.removed_customers), "customer", "customers")
    claims = _count(len(plan.claims), "claim", "claims")
    unclaims = _count(len(plan.unclaims), "unclaim", "unclaims")
    renames = _count(len(plan.renames), "rename", "renames")
    return (
        f"plume-fleet: +{added}, -{removed}, +{claims}, -{unclaims}, {renames}; "
        f"licenses {plan.licenses_before} -> {plan.licenses_after}"
    )
