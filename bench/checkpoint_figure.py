"""The picture of `bench/provision.py --checkpoint-sizes`: wall time and the CLI's CPU against
customers, checkpointed and with ``PULUMI_SKIP_CHECKPOINTS``, beside calls / 6 (the floor at
Plume's 6 requests/s), one panel per operation, on log-log axes so a growth exponent is a slope.

It draws what it is given and measures nothing; matplotlib (the ``bench`` extra) is imported
only when a picture is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Line", "draw"]

COLOURS = {"checkpointed": "tab:red", "skipped": "tab:blue", "floor": "black"}


@dataclass
class Line:
    """One series of a panel: (customers, seconds) points, drawn as ``kind``.

    ``kind``: ``wall`` (solid), ``cpu`` (dashed), ``floor`` (dotted) or ``pilot`` (markers
    only: a rate-limited run); ``mode`` picks the colour (``checkpointed``, ``skipped``,
    ``floor``)."""

    label: str
    kind: str
    mode: str
    points: list[tuple[int, float]] = field(default_factory=list)


STYLES: dict[str, dict[str, Any]] = {
    "wall": {"linestyle": "-", "marker": "o"},
    "cpu": {"linestyle": "--", "marker": "s"},
    "floor": {"linestyle": ":", "marker": ""},
    "pilot": {"linestyle": "", "marker": "*", "markersize": 14},
}


def draw(path: Path, panels: dict[str, list[Line]], title: str, note: str) -> Path:
    """Write the picture to ``path`` (PNG): one panel per key of ``panels``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5.0), squeeze=False)
    for ax, (name, lines) in zip(axes[0], panels.items(), strict=True):
        for line in lines:
            points = sorted(p for p in line.points if p[1] > 0)
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            style = dict(STYLES[line.kind])
            if line.kind == "pilot" and line.mode == "skipped":
                style.update(marker="X", markersize=9)  # on top of the checkpointed star
            ax.plot(xs, ys, color=COLOURS[line.mode], label=line.label, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted({x for line in lines for x, _ in line.points})
        ax.set_xticks(sizes, [f"{x:,}" for x in sizes])
        ax.minorticks_off()
        ax.set_title(name)
        ax.set_xlabel("customers (x 2 nodes: 3 resources each)")
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.text(0.01, 0.01, note, fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
