"""Scale defects of the Pulumi Python SDK (3.x) that a fleet of 1,000+ resources runs into.

They live in the program process, so real `pulumi up` runs hit them as much as tests do, and
each is fixed here without changing what the SDK does, only what it costs:

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
* `resolve_outputs` (`pulumi/runtime/rpc.py`) recomputes the resource class's property types
  (`pulumi._types.resource_types`: `typing.get_type_hints` over every annotation) for every
  registration response; `PlumeNode` has 24 annotated outputs, and this was 40 % of the
  program's event loop at 1,500 resources. `cache_resource_types(cls)` memoises it for the
  given classes only: their annotations are fixed when the class is defined.
* `_get_stack_trace` (`pulumi/runtime/resource.py`) records where each resource was declared
  with `traceback.extract_stack()`, which also loads source lines and `stat`s every file on the
  stack, for every resource (20 % of the program's time at 1,500 resources).
  `install_cheap_stack_trace()` builds the same frames from the interpreter's frame objects.
* The SDK allocates dozens of Outputs, futures and tasks per resource that live until the
  program ends. With CPython's default young-generation threshold (700 allocations) the cyclic
  garbage collector runs every few declarations, and its older-generation passes walk the whole
  growing graph: ~18 % of the program's CPU at 1,500 resources, in pauses of up to 120 ms during
  which no registration reaches the engine. `raise_gc_threshold()` collects every 10,000
  allocations instead; garbage is still collected, in fewer and larger batches.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import pathlib
import pickle
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "cache_resource_types",
    "install_cheap_stack_trace",
    "install_for",
    "install_linear_output_wait",
    "raise_gc_threshold",
    "restore_pickler",
]

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


class _CachedResourceTypes:
    """`pulumi._types.resource_types`, memoised for the classes registered with it."""

    def __init__(self, wrapped: Callable[[type], dict[str, type]]) -> None:
        self.__wrapped__ = wrapped
        self._cache: dict[type, dict[str, type]] = {}

    def register(self, cls: type) -> None:
        if cls not in self._cache:
            self._cache[cls] = self.__wrapped__(cls)

    def __call__(self, resource_cls: type) -> dict[str, type]:
        cached = self._cache.get(resource_cls)
        if cached is None:
            return self.__wrapped__(resource_cls)
        return dict(cached)


def cache_resource_types(cls: type) -> None:
    """Compute `cls`'s property types once per process instead of once per resource."""
    from pulumi import _types

    current = _types.resource_types
    if not isinstance(current, _CachedResourceTypes):
        current = _CachedResourceTypes(current)
        setattr(_types, "resource_types", current)  # noqa: B010 (patching on purpose)
    current.register(cls)


@functools.lru_cache(maxsize=1024)
def _source_uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except ValueError:  # a relative path (e.g. "<string>") has no file URI
        return None


def _stack_trace() -> Any:
    """What the SDK's `_get_stack_trace` returns: the frames outside the third `__init__` from
    the top (Resource, CustomResource, the concrete class), innermost first."""
    from pulumi.runtime.proto import source_pb2

    frame = sys._getframe(1)
    inits = 0
    while frame is not None and inits < 3:
        if frame.f_code.co_name == "__init__":
            inits += 1
        frame = frame.f_back  # type: ignore[assignment]
    if inits < 3:
        return source_pb2.StackTrace()
    frames = []
    while frame is not None:
        filename, line = frame.f_code.co_filename, frame.f_lineno
        uri = _source_uri(filename) if filename and line is not None else None
        position = None if uri is None else source_pb2.SourcePosition(uri=uri, line=line)
        frames.append(source_pb2.StackFrame(pc=position))
        frame = frame.f_back  # type: ignore[assignment]
    return source_pb2.StackTrace(frames=frames)


REPLACED: dict[str, Callable[..., Any]] = {}
"""The SDK functions replaced here, by name, as the SDK defined them."""


def install_cheap_stack_trace() -> None:
    """Make the SDK record declaration sites without reading source files (idempotent)."""
    from pulumi.runtime import resource

    if resource._get_stack_trace is not _stack_trace:
        REPLACED["_get_stack_trace"] = resource._get_stack_trace
        setattr(resource, "_get_stack_trace", _stack_trace)  # noqa: B010 (patching on purpose)


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between young-generation collections in a program declaring Plume resources."""


def raise_gc_threshold() -> None:
    """Collect the young generation every `GC_YOUNG_THRESHOLD` allocations (idempotent).

    Never lowers a higher threshold, and leaves a threshold of 0 (automatic collection off)
    alone: a program that tunes its own collector keeps its settings.
    """
    young, middle, old = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def install_for(resource_cls: type) -> None:
    """Every workaround a declaration of `resource_cls` needs before the SDK registers it
    (idempotent; `restore_pickler()` is the one to call after)."""
    install_linear_output_wait()
    install_cheap_stack_trace()
    raise_gc_threshold()
    cache_resource_types(resource_cls)
