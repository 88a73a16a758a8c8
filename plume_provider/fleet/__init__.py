"""The fleet a stack declares: its config model (`model`) and fleet files (`file`).

The program (`__main__.py`) and `plume-fleet discover` import from here; neither needs to know
which of the two modules defines what.
"""

from plume_provider.fleet.file import write_fleet_file
from plume_provider.fleet.model import (
    FLEET_CONFIG_KEYS,
    CustomerSpec,
    Fleet,
    FleetConfigError,
    NodeSpec,
    load_fleet,
    shrink_problem,
)

__all__ = [
    "FLEET_CONFIG_KEYS",
    "CustomerSpec",
    "Fleet",
    "FleetConfigError",
    "NodeSpec",
    "load_fleet",
    "shrink_problem",
    "write_fleet_file",
]
