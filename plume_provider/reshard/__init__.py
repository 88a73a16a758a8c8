"""`plume-fleet reshard`: customers whose shard changed in the fleet file move, with their
nodes, from the old shard's stack state to the new shard's with `pulumi state move`. Nothing
is deleted, registered or claimed; the Plume API is never called.

The package, one job a module: `plan` (what moves, or why not; pure), `providers` (the one
edit the source's state needs so the CLI accepts the move; pure), `pulumi_cli` (the CLI calls)
and `command` (the command line: plan, confirm, move, say where each customer is now).
"""

from plume_provider.reshard.command import main
from plume_provider.reshard.plan import (
    CustomerMove,
    ReshardError,
    ReshardPlan,
    ShardStack,
    StackMove,
    plan_reshard,
)
from plume_provider.reshard.providers import aligned_source

__all__ = [
    "CustomerMove",
    "ReshardError",
    "ReshardPlan",
    "ShardStack",
    "StackMove",
    "aligned_source",
    "main",
    "plan_reshard",
]
