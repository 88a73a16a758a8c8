"""The fleet a stack declares: its config model (`model`), fleet files (`file`), the shards of
one fleet (`shards`), the stack's current state (`stack_state`) and the plan and removal guard
between the two (`removals`).

The program (`__main__.py`) and `plume-fleet discover` import from here; neither needs to know
which module defines what.
"""

from plume_provider.fleet.file import write_fleet_file
from plume_provider.fleet.model import (
    FLEET_CONFIG_KEYS,
    CustomerSpec,
    Fleet,
    FleetConfigError,
    NodeSpec,
    load_fleet,
)
from plume_provider.fleet.removals import (
    FleetPlan,
    RemovalRefusedError,
    plan_fleet,
    read_allowance,
    removal_problem,
    spent_output,
    summary_line,
)
from plume_provider.fleet.stack_state import StackState, StackStateError, read_stack_state

__all__ = [
    "FLEET_CONFIG_KEYS",
    "CustomerSpec",
    "Fleet",
    "FleetConfigError",
    "FleetPlan",
    "NodeSpec",
    "RemovalRefusedError",
    "StackState",
    "StackStateError",
    "load_fleet",
    "plan_fleet",
    "read_allowance",
    "read_stack_state",
    "removal_problem",
    "spent_output",
    "summary_line",
    "write_fleet_file",
]
