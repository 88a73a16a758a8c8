"""Two scale defects of the Pulumi Python SDK (3.x) that a fleet of 1,000+ resources runs into.

Both live in the program process, so real `pulumi up` runs hit them as much as tests do, and
both are fixed here without changing what the SDK does, only what it costs:

* `serialize_provider` (`pulumi/dynamic/dynamic.py`) wraps `pickle._Pickler._batch_setitems`
  on every call and never unwraps it: after ~980 dynamic resources in one process every
  further declaration fails with `RecursionError`. `restore_pickler()` undoes the wrapper
  after each declaration (`PlumeResource.__init__` calls it).
* `wait_for_rpcs` (`pulumi/runtime/stack.py`) waits for the program's outstanding Outputs with
  `asyncio.wait(..., FIRST_COMPLETED)` in a loop, re-registering a callback on every pending
  Output each time one completes: O(n²) in the number of Outputs, on the event loop, holding
  the GIL (a 500-customer fleet has ~30,000 Outputs; profiled at 66 % of the program's time).
  `install_linear_output_wait()` makes that module's `asyncio.wait` use FIRST_EXCEPTION
  instead: the same Outputs are awaited, a failure still surfaces as soon as it happens, but
  the loop runs once instead of once per Output.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterable
from typing import Any

__all__ = ["install_linear_output_wait", "restore_pickler"]

_PICKLER_BATCH_SETITEMS = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
"""The pickler method as it was before the SDK's `serialize_provider` first wrapped it."""


def restore_pickler() -> None:
    """Undo the wrapper `serialize_provider` leaves on the pure-Python pickler."""
    pickle._Pickler._batch_setitems = _PICKLER_BATCH_SETITEMS  # type: ignore[attr-defined]


class _AsyncioWithLinearWait:
    """`asyncio` as `pulumi.runtime.stack` sees it, except that waiting for the first of many
    Outputs to complete becomes waiting for all of them, or for the first failure."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def wait(
        fs: Iterable[Any], *, timeout: float | None = None, return_when: str = asyncio.ALL_COMPLETED
    ) -> tuple[set[Any], set[Any]]:
        if return_when == asyncio.FIRST_COMPLETED:
            return_when = asyncio.FIRST_EXCEPTION
        return await asyncio.wait(fs, timeout=timeout, return_when=return_when)


def install_linear_output_wait() -> None:
    """Make the SDK's end-of-program wait linear in the number of Outputs (idempotent)."""
    from pulumi.runtime import stack

    if not isinstance(getattr(stack, "asyncio", None), _AsyncioWithLinearWait):
        setattr(stack, "asyncio", _AsyncioWithLinearWait())  # noqa: B010 (patching on purpose)
