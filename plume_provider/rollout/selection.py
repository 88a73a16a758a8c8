"""Which stacks a rollout runs: a glob of the project's stack names, or the shards of a fleet
file, narrowed by `--only`; each with the number of customers it declares.

Stack config is read from the project's stack files, not through the CLI
(`fleet.stack_fleets`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from plume_provider.client.errors import ConfigurationError
from plume_provider.fleet import FleetConfigError, load_fleet
from plume_provider.fleet.stack_fleets import StackFleets

__all__ = ["RolloutSelectionError", "StackTarget", "select_stacks"]


class RolloutSelectionError(ConfigurationError):
    """The stacks to run cannot be chosen; nothing was run."""


@dataclass(frozen=True)
class StackTarget:
    """One stack of the rollout."""

    name: str
    shard: str | None
    customers: int | None
    """The customers its fleet declares (None: its fleet config has problems, which its own
    run reports)."""


def _declared(fleets: StackFleets, fleet: Mapping[str, str | None]) -> int | None:
    """How many customers the stack declares (None: its fleet config has problems, which its
    own run reports)."""
    try:
        return len(fleets.of(fleet).declared())
    except FleetConfigError:
        return None


def _by_glob(names: Sequence[str], patterns: Sequence[str]) -> list[str]:
    chosen = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    if not chosen:
        raise RolloutSelectionError(
            f"no stack of the project matches {', '.join(patterns)}; its stacks: "
            f"{', '.join(names) or 'none'} (pulumi stack ls)"
        )
    return chosen


def _by_fleet_file(
    project: Path, fleets: StackFleets, names: Sequence[str], fleet_file: Path
) -> list[str]:
    """The stacks whose `plume-fleet:fleetFile` is `fleet_file`, one per shard, every shard."""
    wanted = fleet_file.resolve()
    by_shard: dict[str, list[str]] = {}
    for name in names:
        fleet = fleets.config_of(name)
        declared = fleet.get("fleetFile")
        if declared and (project / declared).resolve() == wanted:
            by_shard.setdefault(fleet.get("shard") or "", []).append(name)
    try:
        whole = load_fleet({"fleetFile": str(wanted)}, root=wanted.parent, every_shard=True)
    except FleetConfigError as err:
        raise RolloutSelectionError(
            f"the fleet file {fleet_file} has problems; nothing was run: {'; '.join(err.problems)}"
        ) from None
    shards = sorted({c.shard for c in whole.customers if c.shard is not None})
    problems = [
        f"shard {shard!r} is declared by {len(by_shard[shard])} stacks "
        f"({', '.join(by_shard[shard])})"
        for shard in sorted(by_shard)
        if shard and len(by_shard[shard]) > 1
    ]
    missing = [shard for shard in shards if shard not in by_shard]
    if missing:
        problems.append(
            f"no stack declares shard(s) {', '.join(missing)}: create one per shard "
            "(pulumi stack init NAME; pulumi config set plume-fleet:shard SHARD; the same "
            "plume-fleet:fleetFile)"
        )
    if not shards:
        problems.append(f"{fleet_file} is not sharded: run its stack with --stacks NAME")
    if problems:
        raise RolloutSelectionError("; ".join(problems) + "; nothing was run")
    return [by_shard[shard][0] for shard in shards]


def select_stacks(
    project: Path,
    names: Sequence[str],
    *,
    patterns: Sequence[str] = (),
    fleet_file: Path | None = None,
    only: Iterable[str] = (),
) -> list[StackTarget]:
    """The stacks to run, in a stable order (shard order, else name order)."""
    fleets = StackFleets(project)
    if fleet_file is not None:
        chosen = _by_fleet_file(project, fleets, names, fleet_file)
    else:
        chosen = _by_glob(sorted(names), patterns or ["*"])
    subset = [n for n in only if n]
    if subset:
        unknown = [n for n in subset if n not in chosen]
        if unknown:
            raise RolloutSelectionError(
                f"--only names {', '.join(unknown)}, not among the selected stacks "
                f"({', '.join(chosen)}); nothing was run"
            )
        chosen = [n for n in chosen if n in subset]
    targets = []
    for name in chosen:
        fleet = fleets.config_of(name)
        targets.append(StackTarget(name, fleet.get("shard"), _declared(fleets, fleet)))
    return targets
