"""`plume-fleet reshard [--project DIR] [--stacks GLOB ...] [--dry-run] [--yes]`.

Finds the project's stacks over one sharded fleet file, plans (`reshard.plan`), prints the plan,
asks (unless `--yes`), then per (source, destination) pair aligns the source's provider IDs
(`reshard.providers`) and runs `pulumi state move`. It stops at the first failure, then reads
every stack again and says, per customer, where it is now: moved, not moved (rerun reshard:
moved customers are no longer planned), or in both stacks (the CLI's output says how to
remove the stale copy). Exit 0: everything planned moved (or nothing to move); 1: refused or
stopped; 2: usage.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from collections.abc import Sequence
from pathlib import Path

from plume_provider.fleet import FleetConfigError, StackStateError, load_fleet
from plume_provider.fleet.stack_fleets import StackFleets
from plume_provider.fleet.stack_state import export_stack, stack_state_from_export
from plume_provider.reshard.plan import (
    ReshardError,
    ReshardPlan,
    ShardStack,
    StackMove,
    plan_lines,
    plan_reshard,
)
from plume_provider.reshard.providers import aligned_source
from plume_provider.reshard.pulumi_cli import CliFailure, Pulumi

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plume-fleet reshard",
        description=(
            "Move each customer whose shard changed in the fleet file, with its nodes, from its "
            "old stack's state to its new shard's stack with `pulumi state move`: nothing is "
            "deleted, registered or claimed. Rerunnable: moved customers are not planned again."
        ),
    )
    parser.add_argument(
        "--project", type=Path, default=Path(), help="the project directory (default: .)"
    )
    parser.add_argument(
        "--stacks",
        nargs="+",
        action="extend",
        metavar="GLOB",
        help="only the stacks whose names match (default: every stack of the project)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan; move nothing")
    parser.add_argument("--yes", action="store_true", help="move without asking")
    return parser


def _shard_stacks(pulumi: Pulumi, globs: Sequence[str] | None) -> dict[Path, list[ShardStack]]:
    """The selected stacks that declare a shard of a fleet file, by the file they read."""
    groups: dict[Path, list[ShardStack]] = {}
    fleets = StackFleets(pulumi.project)
    names = [
        n
        for n in pulumi.stacks()
        if not globs or any(fnmatch.fnmatchcase(n.rsplit("/", 1)[-1], g) for g in globs)
    ]
    for name in names:
        config = fleets.config_of(name)
        shard, fleet_file = config.get("shard"), config.get("fleetFile")
        if shard is None or not fleet_file:
            print(f"plume-fleet reshard: stack {name}: no plume-fleet:shard and fleetFile; skipped")
            continue
        try:
            fleet = fleets.of(config)
        except FleetConfigError as err:
            raise ReshardError(
                f"stack {name}'s fleet has problems; fix them, then rerun (nothing was moved):\n"
                f"{err}"
            ) from None
        declared = frozenset(c.account_id for c in fleet.declared())
        state = stack_state_from_export(export_stack(name, pulumi.project))
        path = (pulumi.project / fleet_file).resolve()
        groups.setdefault(path, []).append(ShardStack(name, shard, state, declared))
    return groups


def _plan(pulumi: Pulumi, globs: Sequence[str] | None) -> ReshardPlan:
    """One plan over every fleet file's stacks (moves never cross files)."""
    moves: list[StackMove] = []
    problems: list[str] = []
    for path, stacks in sorted(_shard_stacks(pulumi, globs).items()):
        try:
            shown = str(path.relative_to(pulumi.project.resolve()))
        except ValueError:
            shown = str(path)
        fleet = load_fleet({"fleetFile": str(path)}, root=path.parent, every_shard=True)
        shard_of = {c.account_id: c.shard for c in fleet.customers if c.shard is not None}
        plan = plan_reshard(stacks, shard_of, shown)
        moves += plan.moves
        problems += plan.problems
    return ReshardPlan(tuple(moves), tuple(problems))


def _confirm(plan: ReshardPlan) -> bool:
    if not sys.stdin.isatty():
        raise ReshardError("not a terminal, so nothing to confirm with: pass --yes to move")
    answer = input(f"Move {plan.customers} customer(s) and {plan.nodes} node(s)? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _move(pulumi: Pulumi, move: StackMove) -> CliFailure | None:
    """One pair's move: the source's provider IDs aligned (`stack import` of its own export),
    then `pulumi state move`."""
    source = export_stack(move.source, pulumi.project)
    dest = export_stack(move.dest, pulumi.project)
    aligned = aligned_source(source, dest, move.urns)
    if aligned is not None:
        # read again just before writing back: an update that ran meanwhile is never overwritten
        if export_stack(move.source, pulumi.project) != source:
            return CliFailure(
                f"pulumi stack export --stack {move.source}",
                f"stack {move.source} changed while reshard was reading it (an update ran?); "
                "nothing of this pair was moved",
            )
        failed = pulumi.import_state(move.source, aligned)
        if failed is not None:
            return failed
    return pulumi.state_move(move.source, move.dest, move.urns)


def _where_now(pulumi: Pulumi, plan: ReshardPlan) -> dict[str, tuple[bool, bool]]:
    """accountId -> (still in its source's state, in its destination's state)."""
    names = {n for m in plan.moves for n in (m.source, m.dest)}
    states = {n: stack_state_from_export(export_stack(n, pulumi.project)) for n in names}
    return {
        c.account_id: (
            c.account_id in states[m.source].customers,
            c.account_id in states[m.dest].customers,
        )
        for m in plan.moves
        for c in m.customers
    }


def _report(
    pulumi: Pulumi, plan: ReshardPlan, failure: CliFailure | None, at: StackMove | None
) -> int:
    """Say where every planned customer is now; 0 when all of them moved."""
    where = _where_now(pulumi, plan)
    moved = sorted(a for a, (src, dst) in where.items() if dst and not src)
    stayed = sorted(a for a, (src, dst) in where.items() if src and not dst)
    both = sorted(a for a, (src, dst) in where.items() if src and dst)
    lost = sorted(a for a, (src, dst) in where.items() if not src and not dst)
    out = sys.stdout if failure is None and len(moved) == len(where) else sys.stderr
    if failure is not None and at is not None:
        print(
            f"plume-fleet reshard: moving {at.source} -> {at.dest} failed: `{failure.command}`:\n"
            f"{failure.message}",
            file=out,
        )
        if failure.locked:
            print(
                "  a stack is locked by an update in progress: let it finish (or, if it "
                f"crashed, `pulumi cancel --stack {at.source}` / `--stack {at.dest}`), then "
                "rerun plume-fleet reshard",
                file=out,
            )
    print(f"moved: {len(moved)} customer(s){': ' if moved else ''}{', '.join(moved)}", file=out)
    if stayed:
        print(f"not moved: {len(stayed)} customer(s): {', '.join(stayed)}", file=out)
    if both:
        print(
            f"in both stacks: {len(both)} customer(s): {', '.join(both)}; remove the stale "
            "copies as the CLI's message above says, then rerun plume-fleet reshard",
            file=out,
        )
    if lost:
        print(
            f"in neither stack: {', '.join(lost)}; restore the stacks from their last "
            "checkpoints (`pulumi stack history`, `pulumi stack import`) before any `up`",
            file=out,
        )
    if out is sys.stdout:
        stacks = sorted({n for m in plan.moves for n in (m.source, m.dest)})
        print(
            "next: `pulumi preview` on " + ", ".join(stacks) + " shows no resource change; "
            "`pulumi up` on each brings its outputs (customers, nodes, licensesInUse) up to date"
        )
        return 0
    if stayed:
        print(
            "rerun plume-fleet reshard after fixing that: the moved customers are no longer "
            "planned, the others are",
            file=out,
        )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    project = args.project.absolute()
    if not (project / "Pulumi.yaml").is_file():
        print(
            f"plume-fleet reshard: {project} has no Pulumi.yaml: pass --project, the directory "
            "of the plume-fleet project",
            file=sys.stderr,
        )
        return 2
    try:
        pulumi = Pulumi(project)
        plan = _plan(pulumi, args.stacks)
        if plan.problems:
            listing = "\n".join(f"  - {p}" for p in plan.problems)
            only = (
                f" (only the stacks matching --stacks {' '.join(args.stacks)} were read)"
                if args.stacks
                else ""
            )
            raise ReshardError(
                f"{len(plan.problems)} problem(s){only}; nothing was moved:\n{listing}"
            )
        if not plan.moves:
            print("plume-fleet reshard: every customer is in its shard's stack; nothing to move")
            return 0
        print(
            f"plume-fleet reshard: {plan.customers} customer(s) and {plan.nodes} node(s) change "
            "stack (their state moves; nothing is deleted, registered or claimed):"
        )
        for line in plan_lines(plan):
            print(f"  {line}")
        if args.dry_run:
            print("dry run: nothing was moved")
            return 0
        if not args.yes and not _confirm(plan):
            print("not confirmed: nothing was moved")
            return 1
        for move in plan.moves:
            try:
                failure = _move(pulumi, move)
            except StackStateError as err:
                failure = CliFailure("pulumi stack export", str(err))
            if failure is not None:
                return _report(pulumi, plan, failure, move)
        return _report(pulumi, plan, None, None)
    except (ReshardError, StackStateError, FleetConfigError) as err:
        print(f"plume-fleet reshard: {err}", file=sys.stderr)
        return 1
