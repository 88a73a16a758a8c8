"""The removal guard and the plan line, from a fleet and a stack state (no engine): what counts
as a removal, the budget per stack size, the allowance and its spending, protect, waves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plume_provider.fleet import load_fleet
from plume_provider.fleet.removals import (
    ALLOWANCE_ENV,
    SPENT_OUTPUT,
    Allowance,
    RemovalRefusedError,
    plan_fleet,
    read_allowance,
    removal_budget,
    removal_problem,
    spent_output,
    summary_line,
)
from plume_provider.fleet.stack_state import (
    ManagedCustomer,
    ManagedNode,
    StackState,
    stack_state_from_export,
)

NONE = Allowance(None, "")


def fleet_of(count: int, **config: Any):
    customers = [
        {"accountId": f"A{i}", "nodes": [{"serialNumber": f"GW-{i}", "nickname": "Hall"}]}
        for i in range(count)
    ]
    raw = {"customers": json.dumps(customers), **{k: json.dumps(v) for k, v in config.items()}}
    return load_fleet(raw)


def state_of(count: int, *, protect: bool = False, extra_nodes: int = 0) -> StackState:
    customers = {f"A{i}": ManagedCustomer(f"A{i}", f"c{i}", protect) for i in range(count)}
    nodes = {f"GW-{i}": ManagedNode(f"GW-{i}", f"c{i}", "Hall", protect) for i in range(count)}
    for j in range(extra_nodes):
        nodes[f"POD-{j}"] = ManagedNode(f"POD-{j}", "c0", None, False)
    return StackState(customers, nodes)


@pytest.mark.parametrize(
    ("managed", "budget"),
    [(0, 1), (1, 1), (2, 1), (9, 1), (10, 1), (30, 3), (49, 4), (50, 5), (6000, 5)],
)
def test_the_budget_is_a_tenth_of_the_customers_at_least_one_at_most_five(
    managed: int, budget: int
) -> None:
    assert removal_budget(managed) == budget


def test_an_emptied_fleet_of_thirty_is_refused_naming_the_count_and_both_ways_forward() -> None:
    plan = plan_fleet(fleet_of(0), state_of(30))
    problem = removal_problem(plan, NONE)
    assert problem is not None
    assert "delete 30 of the 30 customer(s) the stack manages (A0, A1," in problem
    assert "and 10 more" in problem
    assert "budget of 3 customer(s)" in problem
    assert f"{ALLOWANCE_ENV}=30" in problem
    assert "plume-fleet:allowRemovals: 30" in problem
    assert "fix it and run again" in problem


def test_one_churned_customer_of_thirty_passes_and_its_node_leaves_with_it() -> None:
    plan = plan_fleet(fleet_of(29), state_of(30))
    assert plan.removed_customers == ("A29",)
    assert plan.unclaims == ("GW-29",)
    assert plan.lone_unclaims == ()
    assert removal_problem(plan, NONE) is None


def test_two_customers_of_two_is_all_of_them_and_refused() -> None:
    assert removal_problem(plan_fleet(fleet_of(1), state_of(2)), NONE) is None
    assert removal_problem(plan_fleet(fleet_of(0), state_of(2)), NONE) is not None


def test_the_only_customer_of_a_stack_may_leave() -> None:
    assert removal_problem(plan_fleet(fleet_of(0), state_of(1)), NONE) is None


def test_nodes_on_their_own_pass_up_to_five_and_six_are_refused() -> None:
    assert removal_problem(plan_fleet(fleet_of(3), state_of(3, extra_nodes=5)), NONE) is None
    plan = plan_fleet(fleet_of(3), state_of(3, extra_nodes=6))
    assert len(plan.lone_unclaims) == 6
    problem = removal_problem(plan, NONE)
    assert problem is not None
    assert "unclaim 6 node(s) of customers the fleet keeps (POD-0," in problem


def test_an_allowance_allows_exactly_its_count() -> None:
    plan = plan_fleet(fleet_of(0), state_of(30))
    assert removal_problem(plan, Allowance(30, ALLOWANCE_ENV)) is None
    wrong = removal_problem(plan, Allowance(29, ALLOWANCE_ENV))
    assert wrong is not None
    assert f"{ALLOWANCE_ENV} is 29, not 30" in wrong


def test_a_config_allowance_is_spent_by_the_update_that_used_it() -> None:
    used = plan_fleet(fleet_of(27), state_of(30))
    allowance = read_allowance({}, 3, {})
    assert removal_problem(used, allowance) is None
    assert spent_output(used, allowance) == 3
    # the next run: the key still says 3, the outputs say it was used
    later = read_allowance({}, 3, {SPENT_OUTPUT: 3.0})
    assert later.spent
    accidental = plan_fleet(fleet_of(24), state_of(27))
    problem = removal_problem(accidental, later)
    assert problem is not None
    assert "was already used by an earlier update" in problem
    # and it stays spent while the key says so, even through an update that removes nothing
    assert spent_output(plan_fleet(fleet_of(27), state_of(27)), later) == 3


def test_the_environment_allowance_wins_and_is_never_spent() -> None:
    allowance = read_allowance({ALLOWANCE_ENV: " 3 "}, 5, {SPENT_OUTPUT: 3})
    assert allowance == Allowance(3, ALLOWANCE_ENV)
    assert spent_output(plan_fleet(fleet_of(27), state_of(30)), allowance) is None


@pytest.mark.parametrize("text", ["three", "-1", "3.5", "\u00b3"])
def test_an_allowance_that_is_no_count_is_refused(text: str) -> None:
    with pytest.raises(RemovalRefusedError, match=f"{ALLOWANCE_ENV} must be a whole number"):
        read_allowance({ALLOWANCE_ENV: text}, None, {})


def test_a_protected_customer_leaving_the_fleet_is_refused_whatever_the_allowance() -> None:
    plan = plan_fleet(fleet_of(29), state_of(30, protect=True))
    problem = removal_problem(plan, Allowance(1, ALLOWANCE_ENV))
    assert problem is not None
    assert "2 protected resource(s)" in problem
    assert "customer A29, node GW-29" in problem


def test_a_lowered_wave_removes_nothing_without_an_allowance_even_within_budget() -> None:
    customers = [{"accountId": f"A{i}", "wave": 1 if i < 29 else 2} for i in range(30)]
    fleet = load_fleet({"customers": json.dumps(customers), "wave": "1"})
    state = StackState({f"A{i}": ManagedCustomer(f"A{i}", f"c{i}", False) for i in range(30)})
    plan = plan_fleet(fleet, state)
    assert plan.held_back == ("A29",)
    problem = removal_problem(plan, NONE)
    assert problem is not None
    assert "1 of them the fleet still lists in a wave above plume-fleet:wave (A29)" in problem
    assert removal_problem(plan, Allowance(1, ALLOWANCE_ENV)) is None


def test_the_summary_line_counts_the_plan_in_operator_terms() -> None:
    customers = [
        {"accountId": "A0", "nodes": [{"serialNumber": "GW-0", "nickname": "Office"}]},
        {"accountId": "A1", "nodes": [{"serialNumber": "GW-1"}, {"serialNumber": "POD-9"}]},
        {"accountId": "N1", "nodes": [{"serialNumber": "GW-N1"}]},
        {"accountId": "N2"},
    ]
    plan = plan_fleet(load_fleet({"customers": json.dumps(customers)}), state_of(3))
    assert summary_line(plan) == (
        "plume-fleet: +2 customers, -1 customer, +2 claims, -1 unclaim, 1 rename; licenses 3 -> 4"
    )


def test_the_state_comes_from_an_export_document_without_pending_deletes() -> None:
    def resource(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "urn": f"urn:pulumi:lab::plume-fleet::pulumi-python:dynamic/plume:Customer::{name}",
            "type": "pulumi-python:dynamic/plume:Customer",
            **extra,
        }

    document = {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:x::pulumi:pulumi:Stack::s",
                    "type": "pulumi:pulumi:Stack",
                    "outputs": {"wave": 2},
                },
                resource("customer-A1", protect=True, outputs={"customerId": "c1"}),
                resource("customer-A2", delete=True, outputs={"customerId": "old"}),
                resource("node-GW-1", outputs={"customerId": "c1", "nickname": "Hall"}),
                resource("node-GW-2", outputs={"customerId": {"ciphertext": "..."}}),
            ]
        },
    }
    state = stack_state_from_export(document)
    assert state.customers == {"A1": ManagedCustomer("A1", "c1", True)}
    assert state.nodes == {
        "GW-1": ManagedNode("GW-1", "c1", "Hall", False),
        "GW-2": ManagedNode("GW-2", None, None, False),
    }
    assert state.outputs == {"wave": 2}
    assert stack_state_from_export({"version": 3, "deployment": {}}) == StackState()
