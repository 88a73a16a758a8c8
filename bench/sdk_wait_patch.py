"""An experiment, not a fix: what the Pulumi Python SDK's quadratic output wait costs.

`pulumi.runtime.stack.wait_for_rpcs` (Pulumi 3.272, stack.py ~line 205) waits with
`asyncio.wait(pending_outputs, return_when=FIRST_COMPLETED)` in a loop: every time one Output
completes it re-registers a callback on every outstanding Output, so a program with `n`
Outputs spends O(n^2) in that loop, on the event loop thread, holding the GIL. A fleet of
500 customers x 2 nodes has about 30,000 Outputs (PlumeNode declares 24 output properties).

`apply()` makes that loop wait for all pending outputs at once (ALL_COMPLETED): the same
outputs are awaited and exceptions still surface, only the re-scan disappears. The
benchmark applies it in the driver with `--sdk-wait-patch` to show what an SDK fix buys.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["apply"]


class _AsyncioWithOneWait:
    """`asyncio` as seen by pulumi.runtime.stack, with `wait` always ALL_COMPLETED."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def wait(fs: Any, *, timeout: float | None = None, return_when: str = "") -> Any:
        return await asyncio.wait(fs, timeout=timeout, return_when=asyncio.ALL_COMPLETED)


def apply() -> None:
    """Patch this process's `pulumi.runtime.stack` (the driver; the host is untouched)."""
    import pulumi.runtime.stack as stack

    setattr(stack, "asyncio", _AsyncioWithOneWait())  # noqa: B010 - patching on purpose
