"""One sharded fleet file (`fleets/sharded.csv`: account, name, shard, one node serial) that
several stacks of a test declare, each its own `plume-fleet:shard`."""

from __future__ import annotations

from .cli_lab import CliLab

__all__ = ["FLEET", "HEADER", "Shards", "fleet_rows", "use_fleet"]

FLEET = "fleets/sharded.csv"
HEADER = "Account ID,Name,Shard,Serial Number"

Shards = dict[str, list[tuple[str, str, str]]]
"""shard -> its customers as (accountId, name, serial or "")."""


def fleet_rows(shards: Shards) -> list[str]:
    """The CSV rows of `shards`, shard by shard."""
    return [
        f"{a},{name},{shard},{serial}" for shard, rows in shards.items() for a, name, serial in rows
    ]


def use_fleet(lab: CliLab, rows: list[str], shard: str) -> None:
    """Write `rows` as the project's fleet file and make `lab` declare `shard` of it."""
    path = lab.project / FLEET
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    lab.config.pop("plume-fleet:customers", None)
    lab.config["plume-fleet:fleetFile"] = FLEET
    lab.config["plume-fleet:shard"] = shard
