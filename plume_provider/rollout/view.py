"""What a rollout shows: one live table (per stack its state and counts; for the fleet,
customers done of the total, the requests per second against the budget, an ETA), the same
table at the end, and the CSV of per-stack results. Needs `rich` (the `rollout` extra)."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from plume_provider.fleet.cells import spreadsheet_text
from plume_provider.rollout.runner import StackProgress

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["RESULT_COLUMNS", "FleetRate", "fleet_line", "stack_table", "write_results"]

RESULT_COLUMNS: Final = (
    "stack",
    "verb",
    "state",
    "customers",
    "customers_done",
    "create",
    "update",
    "delete",
    "same",
    "failed",
    "seconds",
    "error",
)
_OPS: Final = ("create", "update", "delete", "same", "failed")


class FleetRate:
    """Requests per second of the shared budget, from its count of granted requests."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._last: tuple[float, int] | None = None
        self.per_second: float | None = None

    def sample(self, granted: int | None) -> None:
        if granted is None:
            return
        now = time.monotonic()
        if self._last is not None and now - self._last[0] >= 1.0:
            self.per_second = (granted - self._last[1]) / (now - self._last[0])
            self._last = (now, granted)
        elif self._last is None:
            self._last = (now, granted)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def fleet_line(stacks: Sequence[StackProgress], elapsed: float, rate: FleetRate) -> str:
    """Customers done / total, requests per second against the budget, ETA."""
    known = [s for s in stacks if s.customers is not None]
    total = sum(s.customers or 0 for s in known)
    done = sum(min(s.customers_done, s.customers or 0) for s in known)
    parts = [f"customers {done}/{total}" + ("" if len(known) == len(stacks) else " (+?)")]
    if rate.per_second is not None:
        budget = f" of {rate.rate:g}/s" if rate.rate else ""
        parts.append(f"{rate.per_second:.1f} req/s{budget}")
    if 0 < done < total and elapsed > 0:
        parts.append(f"ETA {_duration((total - done) * elapsed / done)}")
    parts.append(f"elapsed {_duration(elapsed)}")
    return " · ".join(parts)


def stack_table(verb: str, stacks: Sequence[StackProgress], caption: str) -> RenderableType:
    """The per-stack table, the fleet line under it, then each failed stack's error."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"plume-fleet rollout {verb}", caption=caption, caption_justify="left")
    for column in ("stack", "state", "customers", *_OPS, "time"):
        table.add_column(column, justify="right" if column in (*_OPS, "customers") else "left")
    for s in stacks:
        customers = f"{s.customers_done}/{s.customers if s.customers is not None else '?'}"
        table.add_row(
            s.name, s.state, customers, *(str(s.ops[op]) for op in _OPS), _duration(s.seconds)
        )
    errors = [Text(f"{s.name}: {s.error}") for s in stacks if s.error]
    return Group(table, *errors)


def write_results(path: Path, verb: str, stacks: Sequence[StackProgress]) -> None:
    """One row per stack (cells safe to open in a spreadsheet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(RESULT_COLUMNS)
        for s in stacks:
            row = [
                s.name,
                verb,
                s.state,
                "" if s.customers is None else str(s.customers),
                str(s.customers_done),
                *(str(s.ops[op]) for op in _OPS),
                f"{s.seconds:.1f}",
                s.error,
            ]
            writer.writerow([spreadsheet_text(cell) for cell in row])
