"""The reshard plan (`reshard.plan`), pure: which customers move with which nodes to which
stack, and every case that refuses the whole reshard before anything moves; the provider-ID
alignment (`reshard.providers`) the CLI's state move needs; the export fields it reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from plume_provider.fleet.stack_state import (
    ManagedCustomer,
    ManagedNode,
    StackState,
    stack_state_from_export,
)
from plume_provider.reshard import ShardStack, aligned_source, plan_reshard
from plume_provider.reshard import command as reshard_command
from plume_provider.reshard.plan import CustomerMove, StackMove, plan_lines

FILE = "fleets/all.csv"
CUSTOMER = "pulumi-python:dynamic/plume:Customer"
NODE = "pulumi-python:dynamic/plume:Node"


def urn(stack: str, kind: str, name: str) -> str:
    return f"urn:pulumi:{stack}::plume-fleet::{kind}::{name}"


def state(stack: str, customers: dict[str, list[str]], pending: tuple[str, ...] = ()) -> StackState:
    """A stack state: accountId -> its nodes' serials, each node claimed at `c-<accountId>`."""
    return StackState(
        {
            a: ManagedCustomer(a, f"c-{a}", False, urn(stack, CUSTOMER, f"customer-{a}"))
            for a in customers
        },
        {
            s: ManagedNode(s, f"c-{a}", None, False, urn(stack, NODE, f"node-{s}"))
            for a, serials in customers.items()
            for s in serials
        },
        pending=pending,
    )


def stack(
    name: str,
    customers: dict[str, list[str]],
    declared: set[str] | None = None,
    *,
    shard: str | None = None,
    pending: tuple[str, ...] = (),
) -> ShardStack:
    """Stack `name` of shard `shard` (default: its name), declaring `declared` next `up`."""
    return ShardStack(
        name, shard or name, state(name, customers, pending), frozenset(declared or set())
    )


NORTH = {"N-1": ["GW-1", "POD-1"], "N-2": ["GW-2"], "N-3": []}


def test_a_customer_whose_shard_changed_moves_with_its_nodes_and_the_others_stay() -> None:
    shard_of = {"N-1": "south", "N-2": "north", "N-3": "south", "S-1": "south"}
    plan = plan_reshard(
        [stack("north", NORTH, {"N-2"}), stack("south", {"S-1": []}, {"S-1", "N-1", "N-3"})],
        shard_of,
        FILE,
    )
    assert plan.problems == ()
    (move,) = plan.moves
    assert (move.source, move.dest, move.dest_shard) == ("north", "south", "south")
    assert [c.account_id for c in move.customers] == ["N-1", "N-3"]
    assert move.customers[0].node_serials == ("GW-1", "POD-1")
    assert move.urns == (
        urn("north", CUSTOMER, "customer-N-1"),
        urn("north", NODE, "node-GW-1"),
        urn("north", NODE, "node-POD-1"),
        urn("north", CUSTOMER, "customer-N-3"),
    )
    assert (plan.customers, plan.nodes) == (2, 2)
    assert plan_lines(plan) == [
        "north -> south (shard south): 2 customer(s), 2 node(s)",
        "  customer N-1: GW-1, POD-1",
        "  customer N-3: no nodes",
    ]


def test_a_node_moves_with_the_customer_it_depends_on_even_without_a_customer_id() -> None:
    north = state("north", {"N-1": []})
    customer_urn = north.customers["N-1"].urn
    lone = ManagedNode("GW-9", None, None, False, urn("north", NODE, "node-GW-9"), (customer_urn,))
    other = ManagedNode("GW-8", "c-X", None, False, urn("north", NODE, "node-GW-8"))
    north = StackState(north.customers, {"GW-9": lone, "GW-8": other})
    plan = plan_reshard(
        [ShardStack("north", "north", north, frozenset()), stack("south", {}, {"N-1"})],
        {"N-1": "south"},
        FILE,
    )
    assert plan.moves[0].customers[0].node_serials == ("GW-9",)


def test_nothing_moves_when_every_customer_is_in_its_shard_or_gone_from_the_file() -> None:
    plan = plan_reshard(
        [stack("north", NORTH, set(NORTH)), stack("south", {}, set())],
        {"N-1": "north", "N-2": "north"},  # N-3 left the file: the removal guard's, not a move
        FILE,
    )
    assert plan.moves == ()
    assert plan.problems == ()


def test_changing_the_number_of_shards_moves_many_customers_per_pair() -> None:
    stacks = [
        stack("a", {"A-1": ["GW-1"], "A-2": []}, {"A-1", "C-2"}),
        stack("b", {"B-1": []}, {"B-1", "A-2", "C-1"}),
        stack("c", {"C-1": ["GW-3"], "C-2": []}),  # shard c is retired: nobody is in it
    ]
    plan = plan_reshard(stacks, {"A-1": "a", "A-2": "b", "B-1": "b", "C-1": "b", "C-2": "a"}, FILE)
    assert plan.problems == ()
    assert [(m.source, m.dest, [c.account_id for c in m.customers]) for m in plan.moves] == [
        ("a", "b", ["A-2"]),
        ("c", "a", ["C-2"]),
        ("c", "b", ["C-1"]),
    ]


def test_a_shard_with_no_stack_refuses_every_move_naming_the_customer_and_the_shard() -> None:
    plan = plan_reshard(
        [stack("north", NORTH), stack("south", {}, {"N-1"})],
        {"N-1": "south", "N-2": "east", "N-3": "north"},
        FILE,
    )
    assert plan.moves == ()  # N-1 could move, but a reshard is all or nothing
    (problem,) = plan.problems
    assert problem.startswith(
        f"customer N-2 (stack north) is now in shard 'east' of {FILE}, which no stack declares: "
        "create that stack first"
    )
    assert "plume-fleet:shard: east" in problem


def test_two_stacks_claiming_one_shard_refuse_before_any_plan() -> None:
    plan = plan_reshard(
        [stack("north", NORTH), stack("north-2", {}, shard="north"), stack("south", {})],
        {"N-1": "south"},
        FILE,
    )
    assert plan.moves == ()
    assert plan.problems == (
        f"stacks north and north-2 both declare plume-fleet:shard: north over {FILE}; a shard is "
        "one stack's: change the shard of one of them (a stack holding that shard's customers "
        "keeps it)",
    )


def test_a_customer_or_node_already_in_the_destination_refuses() -> None:
    plan = plan_reshard(
        [stack("north", NORTH), stack("south", {"N-1": [], "S-1": ["GW-2"]}, {"N-1", "N-2"})],
        {"N-1": "south", "N-2": "south", "S-1": "south"},
        FILE,
    )
    assert plan.moves == ()
    assert len(plan.problems) == 2
    assert plan.problems[0].startswith("customer N-1 is in the state of both north and south")
    assert plan.problems[1].startswith("customer N-2's node(s) GW-2 are already in south's state")


def test_a_destination_whose_wave_would_not_declare_the_customer_refuses() -> None:
    plan = plan_reshard([stack("north", NORTH), stack("south", {}, set())], {"N-1": "south"}, FILE)
    assert plan.moves == ()
    (problem,) = plan.problems
    assert problem.startswith("customer N-1 moves to shard south, but stack south would not")


def test_an_interrupted_update_in_a_stack_the_move_touches_refuses_and_elsewhere_does_not() -> None:
    left = (urn("south", CUSTOMER, "customer-S-9"),)
    blocked = plan_reshard(
        [stack("north", NORTH), stack("south", {}, {"N-1"}, pending=left)], {"N-1": "south"}, FILE
    )
    assert blocked.moves == ()
    assert blocked.problems[0].startswith("stack south has 1 unfinished operation(s)")
    fine = plan_reshard(
        [stack("north", NORTH), stack("south", {}, {"N-1"}), stack("west", {}, pending=left)],
        {"N-1": "south"},
        FILE,
    )
    assert fine.problems == ()
    assert len(fine.moves) == 1


def provider(stack: str, provider_id: str, shard: str) -> dict[str, Any]:
    return {
        "urn": urn(stack, "pulumi:providers:pulumi-python", "default"),
        "type": "pulumi:providers:pulumi-python",
        "id": provider_id,
        "inputs": {"plume-fleet:shard": shard},
    }


def resource(stack: str, kind: str, name: str, provider_id: str) -> dict[str, Any]:
    return {
        "urn": urn(stack, kind, name),
        "type": kind,
        "provider": f"{urn(stack, 'pulumi:providers:pulumi-python', 'default')}::{provider_id}",
    }


def export(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "deployment": {"resources": list(resources)}}


def test_the_source_provider_takes_the_destination_provider_id_and_nothing_else_changes() -> None:
    source = export(
        {"urn": urn("north", "pulumi:pulumi:Stack", "plume-fleet-north")},
        provider("north", "id-n", "north"),
        resource("north", CUSTOMER, "customer-N-1", "id-n"),
        resource("north", CUSTOMER, "customer-N-2", "id-n"),
    )
    dest = export(
        {"urn": urn("south", "pulumi:pulumi:Stack", "plume-fleet-south")},
        provider("south", "id-s", "south"),
    )
    kept = copy.deepcopy(source)
    aligned = aligned_source(source, dest, [urn("north", CUSTOMER, "customer-N-1")])
    assert source == kept
    assert aligned is not None
    want = copy.deepcopy(source)
    want["deployment"]["resources"][1]["id"] = "id-s"
    for r in want["deployment"]["resources"][2:]:
        r["provider"] = r["provider"].replace("::id-n", "::id-s")
    assert aligned == want  # inputs (the shard) untouched: only the ID and references


def test_no_alignment_when_the_ids_match_or_the_destination_is_empty() -> None:
    moved = [urn("north", CUSTOMER, "customer-N-1")]
    source = export(
        provider("north", "id-n", "north"), resource("north", CUSTOMER, "customer-N-1", "id-n")
    )
    same = export({"urn": urn("south", "pulumi:pulumi:Stack", "s")}, provider("south", "id-n", "x"))
    assert aligned_source(source, same, moved) is None
    assert aligned_source(source, export(), moved) is None
    assert aligned_source(source, same, []) is None


def test_the_export_reader_keeps_urns_dependencies_and_unfinished_operations() -> None:
    customer_urn = urn("north", CUSTOMER, "customer-A1")
    document = export(
        {"urn": customer_urn, "type": CUSTOMER, "outputs": {"customerId": "c1"}},
        {
            "urn": urn("north", NODE, "node-GW-1"),
            "type": NODE,
            "outputs": {"customerId": "c1"},
            "dependencies": [customer_urn],
        },
        {"urn": urn("north", CUSTOMER, "customer-A2"), "type": CUSTOMER, "delete": True},
    )
    document["deployment"]["pending_operations"] = [
        {"resource": {"urn": urn("north", NODE, "node-GW-2")}, "type": "creating"}
    ]
    read = stack_state_from_export(document)
    assert read.customers["A1"].urn == customer_urn
    assert read.nodes["GW-1"].dependencies == (customer_urn,)
    assert read.pending == (urn("north", NODE, "node-GW-2"), urn("north", CUSTOMER, "customer-A2"))


class RecordingPulumi:
    """What `_move` asks of the CLI besides exports: imports and state moves, recorded."""

    def __init__(self) -> None:
        self.project = Path("/nonexistent-project")
        self.calls: list[tuple[str, ...]] = []

    def import_state(self, stack: str, document: dict[str, Any]) -> None:
        self.calls.append(("import", stack, json.dumps(document, sort_keys=True)))

    def state_move(self, source: str, dest: str, urns: tuple[str, ...]) -> None:
        self.calls.append(("move", source, dest, *urns))


def pair_exports() -> tuple[dict[str, Any], dict[str, Any]]:
    source = export(
        {"urn": urn("north", "pulumi:pulumi:Stack", "plume-fleet-north")},
        provider("north", "id-n", "north"),
        resource("north", CUSTOMER, "customer-N-1", "id-n"),
    )
    dest = export(
        {"urn": urn("south", "pulumi:pulumi:Stack", "plume-fleet-south")},
        provider("south", "id-s", "south"),
    )
    return source, dest


def one_move() -> StackMove:
    customer = CustomerMove("N-1", urn("north", CUSTOMER, "customer-N-1"), (), ())
    return StackMove("north", "south", "south", (customer,))


@pytest.mark.parametrize("updated_meanwhile", [False, True], ids=["unchanged", "updated"])
def test_the_source_is_read_again_before_its_aligned_state_is_written_back(
    monkeypatch: pytest.MonkeyPatch, updated_meanwhile: bool
) -> None:
    source, dest = pair_exports()
    later = copy.deepcopy(source)
    if updated_meanwhile:
        later["deployment"]["resources"].append(resource("north", CUSTOMER, "customer-N-9", "id-n"))
    reads = iter([source, dest, later])
    monkeypatch.setattr(reshard_command, "export_stack", lambda name, project: next(reads))
    pulumi = RecordingPulumi()

    failure = reshard_command._move(pulumi, one_move())  # type: ignore[arg-type]

    if updated_meanwhile:
        assert failure is not None
        assert "stack north changed while reshard was reading it" in failure.message
        assert "nothing of this pair was moved" in failure.message
        assert pulumi.calls == []  # the update's state is never overwritten
    else:
        assert failure is None
        assert [c[0] for c in pulumi.calls] == ["import", "move"]
        assert pulumi.calls[1] == ("move", "north", "south", urn("north", CUSTOMER, "customer-N-1"))
