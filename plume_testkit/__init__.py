"""What the tests and the benchmarks both run against: the engine double, the real CLI on a copy
of the project, a redis-server, fleets from the seed inventory and the lab's emulator view.

A package of its own so that `bench/` needs nothing from `tests/`; it is not part of the
provider's wheel. It may use `plume_emulator`; neither `plume_emulator` nor `plume_provider`
uses it.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
HOSTHOOKS = Path(__file__).resolve().parent / "hosthooks"
"""A `PYTHONPATH` directory for the dynamic-provider host: a `sitecustomize` that observes it."""
