"""`plume-fleet rollout`: one verb over many stacks of the project (a glob of names, or the
shards of a fleet file), at most K at a time, on the Pulumi Automation API, all drawing from
the shared rate budget, with one live view, a results table and CSV.

Modules: `selection` (which stacks, and the customers each declares), `runner` (one stack on
the Automation API, its CLI in a session of its own, progress from the engine's events),
`budget_view` (the shared budget's request rate), `view` (the table, the fleet line, the CSV),
`command`.
"""

from plume_provider.rollout.command import main

__all__ = ["main"]
