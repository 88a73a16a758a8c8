"""Scale costs of the Pulumi Python SDK that a fleet of 1,000+ resources runs into, paid less.

Each workaround here replaces one private piece of the SDK (for the collector: its threshold)
with one that does the same work for less, and only on the SDK versions where it was verified
against the SDK's source (`Workaround.verified`): on any other version it changes nothing and
logs one warning naming what to check. They live in the program process, so real `pulumi up`
runs hit these costs as much as tests do:

* `LINEAR_OUTPUT_WAIT`: `wait_for_rpcs` (`pulumi/runtime/stack.py`) waits for the program's
  outstanding Outputs with `asyncio.wait(..., FIRST_COMPLETED)` in a loop, re-registering a
  callback on every pending Output each time one completes: quadratic in the number of
  Outputs. That module's `asyncio.wait` becomes FIRST_EXCEPTION: the same Outputs are awaited,
  a failure still surfaces as soon as it happens, the loop runs once.
* `CHEAP_STACK_TRACE`: `_get_stack_trace` (`pulumi/runtime/resource.py`) records where each
  resource was declared with `traceback.extract_stack()`, which also loads source lines and
  `stat`s every file on the stack, and keeps every frame: the SDK's, asyncio's, the language
  host's, the resource library's, each with this machine's absolute path, about a third of each
  resource's saved state. The frames are read from the interpreter's frames instead, and only
  the program's own are kept (`program_file`), so the state's `sourcePosition` is the
  program's line that declared the resource.
* `SERIALIZE_PROVIDER_ONCE`: `pulumi.dynamic.Resource.__init__` serializes the provider of
  every resource with `serialize_provider`, which leaves a wrapper on the pickler per call
  (every declaration past ~980 fails with `RecursionError`). For a provider class that says
  its pickle depends on the class alone (`pickled_by_class`), the blob is computed once per
  class (`serialized.serialized_provider`); any other provider gets the SDK's own.
* `RAISED_GC_THRESHOLD`: the SDK keeps dozens of Outputs, futures and tasks per resource alive
  until the program ends, so with CPython's default young-generation threshold the cyclic
  collector runs every few declarations and its older passes walk the whole growing graph.
  The young generation is collected every `GC_YOUNG_THRESHOLD` allocations instead.
* `QUIET_SDK_DEBUG`: the SDK's runtime (`pulumi/runtime/resource.py` and its neighbours) sends
  each of its debug lines ("registering resource: …", "resource registration successful: …",
  four or more per declared resource) to the engine with a blocking `Log` RPC, most of them
  on the event loop's thread, and the CLI throws them away unless it runs with `--debug`. In
  those modules `log.debug` sends nothing, unless `SDK_DEBUG_ENV` is set: a user debugging the
  SDK sets it and runs `pulumi up --debug`. The program's own `pulumi.log` is untouched.

Nothing here is applied on import or when a resource is declared: a program asks for it with
`apply_sdk_workarounds()` (plume-fleet's `__main__.py` does, first thing). A program that does
not call it runs the SDK as it is, with the costs above (docs/upstream.md).

One more cost is avoided rather than patched: `resolve_outputs` (`pulumi/runtime/rpc.py`)
recomputing the resource class's property types (`pulumi._types.resource_types`:
`typing.get_type_hints` over every annotation) for every registration response: the Plume
classes annotate their outputs for type checkers only (`RESOURCE_TYPES_UPSTREAM`).

Every workaround names its upstream issue (drafts in docs/upstream.md), and
tests/provider/test_sdk_workarounds.py has a strict-xfail canary per cost that passes, and so
fails the suite, the day the SDK fixes it: then the workaround goes. What each one saves is
measured in docs/performance.md.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib.metadata
import logging
import os
import pathlib
import re
import sys
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from plume_provider.resources.serialized import serialized_provider

__all__ = [
    "CHEAP_STACK_TRACE",
    "GC_YOUNG_THRESHOLD",
    "LINEAR_OUTPUT_WAIT",
    "QUIET_SDK_DEBUG",
    "RAISED_GC_THRESHOLD",
    "RESOURCE_TYPES_UPSTREAM",
    "SERIALIZE_PROVIDER_ONCE",
    "VERIFIED",
    "Workaround",
    "apply_sdk_workarounds",
    "install_cheap_stack_trace",
    "install_linear_output_wait",
    "install_quiet_sdk_debug",
    "install_serialize_provider_once",
    "program_file",
    "raise_gc_threshold",
    "sdk_version",
]

logger = logging.getLogger("plume_provider.resources")

Version = tuple[int, ...]

VERIFIED: tuple[Version, Version] = ((3, 272), (3, 273))
"""The `pulumi` package versions, from and up to (excluded), whose source every workaround
here was checked against. pyproject.toml allows `pulumi>=3.272,<4`: on a version outside this
range `apply_sdk_workarounds` patches nothing and logs one warning per workaround (the SDK runs
as it is, with its costs), enforced by `Workaround.applies`."""


@functools.cache
def sdk_version() -> Version:
    """The installed `pulumi` package's version as numbers (`3.272.0` -> (3, 272, 0))."""
    text = importlib.metadata.version("pulumi")
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


_WARNED: set[str] = set()
"""The workarounds whose "not applied" warning this process has logged."""


@dataclass(frozen=True)
class Workaround:
    """One replaced piece of the SDK, where it is known to be right, and what says it is gone."""

    name: str
    replaces: str
    """The SDK's function or attribute, by module path."""
    upstream: str
    """The upstream issue, or "not filed" and where its draft is."""
    check: str
    """What to check in a new SDK before widening `verified`."""
    verified: tuple[Version, Version] = VERIFIED

    def applies(self) -> bool:
        """True on a verified SDK version; else False, and one warning per process."""
        low, high = self.verified
        version = sdk_version()
        if low <= version < high:
            return True
        if self.name not in _WARNED:
            _WARNED.add(self.name)
            logger.warning(
                "plume-fleet: SDK workaround %s not applied: pulumi %s is outside %s..%s, the "
                "versions it was verified on. Check %s (%s: %s); then widen its range or delete "
                "it in plume_provider/resources/sdk_workarounds.py",
                self.name,
                _dotted(version),
                _dotted(low),
                _dotted(high),
                self.check,
                self.replaces,
                self.upstream,
            )
        return False


def _dotted(version: Version) -> str:
    return ".".join(map(str, version))


LINEAR_OUTPUT_WAIT = Workaround(
    name="linear-output-wait",
    replaces="pulumi.runtime.stack.wait_for_rpcs (its asyncio.wait)",
    upstream=(
        "not filed (the loop came with pulumi/pulumi#22411), "
        "docs/upstream.md#wait_for_rpcs-is-quadratic"
    ),
    check="whether wait_for_rpcs still loops over asyncio.wait(..., FIRST_COMPLETED)",
)
CHEAP_STACK_TRACE = Workaround(
    name="cheap-stack-trace",
    replaces="pulumi.runtime.resource._get_stack_trace",
    upstream=(
        "not filed (the stack traces came with pulumi/pulumi#20430), "
        "docs/upstream.md#_get_stack_trace-reads-source-files"
    ),
    check="whether _get_stack_trace still uses traceback.extract_stack and the frames it keeps",
)
SERIALIZE_PROVIDER_ONCE = Workaround(
    name="serialize-provider-once",
    replaces="pulumi.dynamic.dynamic.serialize_provider (as Resource.__init__ calls it)",
    upstream=(
        "not filed (pulumi/pulumi#17803 may be it), "
        "docs/upstream.md#serialize_provider-leaves-a-wrapper-per-call"
    ),
    check="whether dynamic.Resource.__init__ still calls the module's serialize_provider",
)
RAISED_GC_THRESHOLD = Workaround(
    name="raised-gc-threshold",
    replaces="gc.get_threshold()[0] (the SDK's allocations per resource)",
    upstream=(
        "not filed (related: pulumi/pulumi#16055, Outputs tracked to the end of the program), "
        "docs/upstream.md#per-resource-objects-keep-the-collector-busy"
    ),
    check="how many objects the SDK keeps per declared resource",
)
QUIET_SDK_DEBUG = Workaround(
    name="quiet-sdk-debug",
    replaces="pulumi.log.debug as pulumi.runtime's modules call it",
    upstream="not filed, docs/upstream.md#every-sdk-debug-line-is-a-blocking-rpc",
    check="whether pulumi.log.debug still calls engine.Log for every message",
)


RESOURCE_TYPES_UPSTREAM = (
    "not filed, docs/upstream.md#resource_types-is-recomputed-per-registration"
)
"""The upstream issue of the per-registration `resource_types` cost, which the Plume resource
classes avoid by annotating their outputs under `TYPE_CHECKING`."""


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

    if isinstance(getattr(stack, "asyncio", None), _AsyncioWithLinearWait):
        return
    if LINEAR_OUTPUT_WAIT.applies():
        setattr(stack, "asyncio", _AsyncioWithLinearWait())  # noqa: B010 (patching on purpose)


@functools.lru_cache(maxsize=1024)
def _source_uri(filename: str) -> str | None:
    try:
        return pathlib.Path(filename).as_uri()
    except ValueError:  # a relative path (e.g. "<string>") has no file URI
        return None


def _library_roots() -> tuple[str, ...]:
    """Directories whose files are never the program's: the interpreter's (stdlib, asyncio,
    site-packages of the venv and of the base install), the SDK's and plume_provider's."""
    import pulumi

    import plume_provider

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    roots |= {os.path.dirname(pulumi.__file__), os.path.dirname(plume_provider.__file__)}
    return tuple(os.path.join(os.path.realpath(root), "") for root in roots if root)


@functools.lru_cache(maxsize=1024)
def program_file(filename: str, root: str | None) -> bool:
    """True for a Python file of the program itself: a `.py` file (the language host's
    `pulumi-language-python-exec` and `<frozen ...>` are not), under the project's `root` when
    it is known (so the engine saves it as a relative `project:///` URI, never an absolute
    path), and in none of `_library_roots`."""
    if not filename.endswith(".py") or not os.path.isabs(filename):
        return False
    real = os.path.realpath(filename)
    if real.startswith(_library_roots()):
        return False
    if root is None or not os.path.isabs(root):  # unknown (mocks say "root_directory")
        return True
    inside = os.path.join(os.path.abspath(root), "")
    real_root = os.path.join(os.path.realpath(root), "")
    return filename.startswith(inside) or real.startswith(real_root)


def _stack_trace() -> Any:
    """The SDK's `_get_stack_trace`, program frames only: of the frames outside the third
    `__init__` from the top (Resource, CustomResource, the concrete class), innermost first,
    those of `program_file`. The first is the program's line that declared the resource (the
    SDK's `sourcePosition`); none when no program code is on the stack."""
    from pulumi.runtime import settings
    from pulumi.runtime.proto import source_pb2

    frame = sys._getframe(1)
    inits = 0
    while frame is not None and inits < 3:
        if frame.f_code.co_name == "__init__":
            inits += 1
        frame = frame.f_back  # type: ignore[assignment]
    if inits < 3:
        return source_pb2.StackTrace()
    root = settings.get_root_directory()
    frames = []
    while frame is not None:
        filename, line = frame.f_code.co_filename, frame.f_lineno
        if filename and line is not None and program_file(filename, root):
            uri = _source_uri(filename)
            if uri is not None:
                position = source_pb2.SourcePosition(uri=uri, line=line)
                frames.append(source_pb2.StackFrame(pc=position))
        frame = frame.f_back  # type: ignore[assignment]
    return source_pb2.StackTrace(frames=frames)


REPLACED: dict[str, Callable[..., Any]] = {}
"""The SDK functions replaced here, by name, as the SDK defined them."""


def install_cheap_stack_trace() -> None:
    """Make the SDK record declaration sites without reading source files (idempotent)."""
    from pulumi.runtime import resource

    if resource._get_stack_trace is _stack_trace or not CHEAP_STACK_TRACE.applies():
        return
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
    if 0 < young < GC_YOUNG_THRESHOLD and RAISED_GC_THRESHOLD.applies():
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


SDK_DEBUG_ENV = "PLUME_FLEET_SDK_DEBUG"
"""Set (to anything but empty), the SDK's runtime sends its debug lines to the engine again."""

QUIET_MODULES = (
    "pulumi.runtime.resource",
    "pulumi.runtime.rpc",
    "pulumi.runtime.rpc_manager",
    "pulumi.runtime.stack",
    "pulumi.runtime.invoke",
    "pulumi.runtime._callbacks",
)
"""The SDK modules whose `log.debug` lines stay in the program."""


class _LogWithoutDebug:
    """`pulumi.log` as the SDK's runtime sees it, except that debug lines are dropped."""

    def __init__(self, log: ModuleType) -> None:
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)

    @staticmethod
    def debug(*args: Any, **kwargs: Any) -> None:
        """Dropped: the CLI shows these only with `--debug` (then set `SDK_DEBUG_ENV`)."""


def install_quiet_sdk_debug() -> None:
    """Keep the SDK runtime's debug lines out of the engine, unless asked (idempotent)."""
    if os.environ.get(SDK_DEBUG_ENV) or not QUIET_SDK_DEBUG.applies():
        return
    for name in QUIET_MODULES:
        module = importlib.import_module(name)
        log = getattr(module, "log", None)
        if isinstance(log, ModuleType):
            setattr(module, "log", _LogWithoutDebug(log))  # noqa: B010 (patching on purpose)


def _serialize_provider_once(provider: Any) -> str:
    """`serialize_provider`, once per class for a provider whose class says `pickled_by_class`."""
    if getattr(type(provider), "pickled_by_class", False):
        return serialized_provider(provider)
    blob: str = REPLACED["serialize_provider"](provider)
    return blob


def install_serialize_provider_once() -> None:
    """Serialize a `pickled_by_class` provider once per class, not per resource (idempotent)."""
    from pulumi.dynamic import dynamic

    if dynamic.serialize_provider is _serialize_provider_once:
        return
    if SERIALIZE_PROVIDER_ONCE.applies():
        REPLACED["serialize_provider"] = dynamic.serialize_provider
        setattr(dynamic, "serialize_provider", _serialize_provider_once)  # noqa: B010


WORKAROUNDS = (
    LINEAR_OUTPUT_WAIT,
    CHEAP_STACK_TRACE,
    SERIALIZE_PROVIDER_ONCE,
    RAISED_GC_THRESHOLD,
    QUIET_SDK_DEBUG,
)
"""Every workaround `apply_sdk_workarounds` installs."""


def apply_sdk_workarounds() -> tuple[str, ...]:
    """Install every workaround here in this program (idempotent); call it before declaring
    resources. Returns the names of those applied: on an SDK outside `VERIFIED`, none (one
    warning each says why). Nothing else in plume_provider patches the SDK."""
    install_linear_output_wait()
    install_cheap_stack_trace()
    install_serialize_provider_once()
    raise_gc_threshold()
    install_quiet_sdk_debug()
    return tuple(w.name for w in WORKAROUNDS if w.applies())
