"""The shared rate budget a rollout's stacks draw from, as the live view reads it: the budget
of the first stack's `plume:*` settings (stack file, then `PLUME_*` variables), probed for its
count of granted requests. A setting kept as a secret (a Redis URL with a password) is not
read: the view then shows no request rate, and the stacks run as they would anyway."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from plume_provider.client import PlumeError, granted_requests
from plume_provider.fleet.stack_fleets import stack_file_config
from plume_provider.resources.config import CONFIG_NAMESPACE, settings_from_config
from plume_provider.rollout.selection import StackTarget
from plume_provider.rollout.view import FleetRate

__all__ = ["budget_probe"]

_EVERY_S: Final = 1.0


def budget_probe(
    project: Path, targets: Sequence[StackTarget]
) -> tuple[Callable[[], int | None], FleetRate]:
    """A function giving the budget's granted count (None: not shared or unreadable), and the
    `FleetRate` fed from it."""
    if not targets:
        return (lambda: None), FleetRate(None)
    prefix = f"{CONFIG_NAMESPACE}:"
    plain: dict[str, Any] = {
        key: value
        for key, value in stack_file_config(project, targets[0].name).items()
        if str(key).startswith(prefix) and not isinstance(value, dict)
    }
    try:
        settings = settings_from_config(plain)
    except (PlumeError, ValueError):
        return (lambda: None), FleetRate(None)
    last: list[tuple[float, int | None]] = []

    def probe() -> int | None:
        now = time.monotonic()
        if last and now - last[0][0] < _EVERY_S:
            return last[0][1]
        try:
            count = granted_requests(settings)
        except PlumeError:
            count = None
        last[:] = [(now, count)]
        return count

    rate = settings.requests_per_second
    return probe, FleetRate(rate if rate > 0 else None)
