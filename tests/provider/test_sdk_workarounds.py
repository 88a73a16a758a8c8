"""The SDK workarounds keep what Pulumi does and change only what it costs, only on the SDK
versions they were verified on; each has a canary that fails the suite once upstream is fixed.

A canary is a strict xfail asserting the *fixed* upstream behaviour against the SDK's own code
(the function the workaround replaces, as the SDK defines it). It XPASSes, and so fails, the
day a new SDK fixes the cost: then the workaround, its canary and its docs/upstream.md entry go.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import linecache
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import settings, stack
from pulumi.runtime.settings import SETTINGS

from plume_provider.resources import (
    CustomerProvider,
    NodeProvider,
    PlumeCustomer,
    PlumeCustomerArgs,
    PlumeNode,
    PlumeNodeArgs,
    sdk_workarounds,
    serialized,
)
from plume_provider.resources.base import PROVIDER_KEY
from plume_provider.resources.sdk_workarounds import (
    CHEAP_STACK_TRACE,
    GC_YOUNG_THRESHOLD,
    LINEAR_OUTPUT_WAIT,
    QUIET_MODULES,
    QUIET_SDK_DEBUG,
    RAISED_GC_THRESHOLD,
    RESOURCE_TYPES_UPSTREAM,
    SDK_DEBUG_ENV,
    SERIALIZE_PROVIDER_ONCE,
    WORKAROUNDS,
    Workaround,
    apply_sdk_workarounds,
    install_linear_output_wait,
    install_quiet_sdk_debug,
    raise_gc_threshold,
)


@pytest.fixture(autouse=True)
def _open_event_loop() -> Iterator[None]:
    """An open current event loop for each test (the SDK schedules declarations on it), as
    some tests here close the loop they ran."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    yield
    asyncio.set_event_loop(asyncio.new_event_loop())


class _Echo(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        return "id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], None]:
        return {}, None


@pytest.fixture
def restored_pickler() -> Iterator[None]:
    """Undo, after a test that calls the SDK's `serialize_provider`, the wrapper it leaves."""
    saved = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    yield
    pickle._Pickler._batch_setitems = saved  # type: ignore[attr-defined]


@pytest.mark.usefixtures("restored_pickler")
def test_declaring_plume_resources_serializes_each_provider_class_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[type] = []

    def counting(provider: Any) -> str:
        calls.append(type(provider))
        return serialize_provider(provider)

    monkeypatch.setattr(serialized, "_BLOBS", {})
    monkeypatch.setattr(serialized, "serialize_provider", counting)
    apply_sdk_workarounds()
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    PlumeCustomer("customer-A-0", PlumeCustomerArgs(account_id="A-0"))
    PlumeNode("node-0", PlumeNodeArgs(customer_id="c", location_id="l", serial_number="S-0"))
    pickler = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    for i in range(1, 4):
        PlumeCustomer(f"customer-A-{i}", PlumeCustomerArgs(account_id=f"A-{i}"))
        PlumeNode(f"node-{i}", PlumeNodeArgs(customer_id="c", location_id="l", serial_number="S"))
    assert calls == [CustomerProvider, NodeProvider]
    assert pickle._Pickler._batch_setitems is pickler  # type: ignore[attr-defined]
    assert stack.asyncio.wait is not asyncio.wait  # type: ignore[attr-defined]


@pytest.mark.usefixtures("restored_pickler")
def test_a_plume_resource_is_declared_as_the_sdk_s_dynamic_resource_declares_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `PlumeResource` hands `CustomResource.__init__` is what `pulumi.dynamic.Resource`
    hands it for the same provider and properties: the type, the name, every input (the
    serialized provider, as a plain string, included) and the options."""
    declared: list[tuple[Any, ...]] = []

    def record(self: Any, t: str, name: str, props: Any, opts: Any = None, *rest: Any) -> None:
        declared.append((t, name, dict(props), opts, rest))

    monkeypatch.setattr(pulumi.CustomResource, "__init__", record)
    opts = pulumi.ResourceOptions(protect=True)
    ours = PlumeCustomer("customer-A-9", PlumeCustomerArgs(account_id="A-9"), opts)
    props = {key: value for key, value in declared[0][2].items() if key != PROVIDER_KEY}
    pulumi.dynamic.Resource.__init__(ours, CustomerProvider(), "customer-A-9", props, opts)
    assert declared[0] == declared[1]
    assert declared[0][0] == "pulumi-python:dynamic/plume:Customer"
    assert isinstance(declared[0][2][PROVIDER_KEY], str)


def _sdk_wait_for_first(tasks: list[asyncio.Task[None]]) -> tuple[set[object], set[object]]:
    """One turn of the SDK's loop: `asyncio.wait(..., FIRST_COMPLETED)` as stack.py calls it."""
    install_linear_output_wait()

    async def turn() -> tuple[set[object], set[object]]:
        sdk_asyncio = stack.asyncio  # type: ignore[attr-defined]
        return await sdk_asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)

    return asyncio.get_event_loop().run_until_complete(turn())


def test_one_turn_of_the_output_wait_collects_every_output_that_succeeds() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        tasks = [loop.create_task(asyncio.sleep(delay / 1000)) for delay in (5, 1, 3, 2, 4)]
        done, pending = _sdk_wait_for_first(tasks)
        assert pending == set()
        assert done == set(tasks)
    finally:
        loop.close()


def test_a_failing_output_still_surfaces_before_the_slow_ones_finish() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def fail() -> None:
        raise RuntimeError("register failed")

    try:
        slow = loop.create_task(asyncio.sleep(60))
        failing = loop.create_task(fail())
        done, pending = _sdk_wait_for_first([slow, failing])
        assert done == {failing}
        assert pending == {slow}
        slow.cancel()
    finally:
        loop.close()


def test_the_sdk_finds_no_property_types_to_recompute_on_plume_resources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outputs are annotated for type checkers only, so the SDK's per-registration
    `resource_types` has nothing to evaluate (and so no type hints to get)."""
    from pulumi import _types

    hints: list[object] = []
    monkeypatch.setattr(_types, "get_type_hints", lambda *args, **_: hints.append(args[0]))
    assert _types.resource_types(PlumeNode) == {}
    assert _types.resource_types(PlumeCustomer) == {}
    assert hints == []


def _type_checking_annotations(cls: type) -> set[str]:
    """The attributes `cls` annotates in its `if TYPE_CHECKING:` block."""
    tree = ast.parse(Path(sys.modules[cls.__module__].__file__ or "").read_text())
    [body] = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    return {
        item.target.id
        for block in body.body
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for item in block.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    }


@pytest.mark.parametrize("cls", [PlumeNode, PlumeCustomer], ids=lambda cls: cls.__name__)
def test_type_checkers_see_every_property_the_sdk_resolves(cls: type[PlumeNode]) -> None:
    assert _type_checking_annotations(cls) == set(cls._to_property)


class _Outer:
    def __init__(self, capture: Callable[[], None]) -> None:
        capture()


class _Middle(_Outer):
    def __init__(self, capture: Callable[[], None]) -> None:
        super().__init__(capture)


class _Declared(_Middle):
    def __init__(self, capture: Callable[[], None]) -> None:
        super().__init__(capture)


def test_the_stack_trace_keeps_the_program_s_frames_of_the_sdk_s_trace() -> None:
    """Of the SDK's frames (pytest's, the stdlib's, this file's) only this file's stay, in the
    SDK's order: this file stands for the program."""
    from pulumi.runtime import resource

    from plume_provider.resources import sdk_workarounds

    sdk_workarounds.install_cheap_stack_trace()
    assert resource._get_stack_trace is sdk_workarounds._stack_trace
    sdk_get_stack_trace = sdk_workarounds.REPLACED["_get_stack_trace"]
    traces: list[object] = []

    def capture() -> None:
        traces.append(sdk_workarounds._stack_trace())
        traces.append(sdk_get_stack_trace())

    _Declared(capture)
    ours, sdks = traces
    here = Path(__file__).as_uri()
    assert len(sdks.frames) > 3  # type: ignore[attr-defined]
    assert list(ours.frames) == [f for f in sdks.frames if f.pc.uri == here]  # type: ignore[attr-defined]
    assert [f.pc.uri for f in ours.frames] == [here]  # type: ignore[attr-defined]


def test_the_cheap_stack_trace_is_empty_outside_a_resource_constructor() -> None:
    from plume_provider.resources import sdk_workarounds

    sdk_workarounds.install_cheap_stack_trace()
    assert sdk_workarounds._stack_trace() == sdk_workarounds.REPLACED["_get_stack_trace"]()
    assert list(sdk_workarounds._stack_trace().frames) == []


@pytest.fixture
def saved_gc_threshold() -> Iterator[None]:
    """Put back the collector's thresholds pytest ran with after a test that changes them."""
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("saved_gc_threshold")
def test_applying_the_workarounds_raises_the_default_gc_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    apply_sdk_workarounds()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)


@pytest.mark.parametrize(
    "threshold",
    [(50_000, 20, 30), (0, 10, 10)],
    ids=["a-higher-threshold-the-program-chose", "automatic-collection-switched-off"],
)
@pytest.mark.usefixtures("saved_gc_threshold")
def test_raising_the_gc_threshold_keeps_a_program_s_own_setting(
    threshold: tuple[int, int, int],
) -> None:
    gc.set_threshold(*threshold)
    raise_gc_threshold()
    assert gc.get_threshold() == threshold


# -- the end-of-program wait, measured ---------------------------------------------------------


class _CountingFuture(asyncio.Future[None]):
    """A pending Output whose done-callback registrations are counted."""

    def __init__(self, added: list[int], *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._added = added

    def add_done_callback(self, fn: Callable[..., Any], *, context: Any = None) -> None:
        self._added[0] += 1
        super().add_done_callback(fn, context=context)


def _callbacks_of_wait_for_rpcs(outputs: int) -> int:
    """Done-callbacks `stack.wait_for_rpcs` registers while `outputs` Outputs complete one per
    turn of the event loop, as registrations answered one by one complete them."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    added = [0]
    futures = [_CountingFuture(added, loop=loop) for _ in range(outputs)]

    async def complete_one_by_one() -> None:
        for future in futures:
            await asyncio.sleep(0)
            future.set_result(None)

    async def end_of_program() -> None:
        completing = asyncio.ensure_future(complete_one_by_one())
        await stack.wait_for_rpcs()
        await completing

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    SETTINGS.outputs.update(futures)
    try:
        loop.run_until_complete(end_of_program())
    finally:
        SETTINGS.outputs.clear()
        loop.close()
    return added[0]


OUTPUTS = 200


def test_with_the_workaround_the_end_of_program_wait_is_linear_in_the_outputs() -> None:
    install_linear_output_wait()
    assert _callbacks_of_wait_for_rpcs(OUTPUTS) <= 3 * OUTPUTS


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=LINEAR_OUTPUT_WAIT.upstream)
def test_canary_the_sdk_s_end_of_program_wait_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "asyncio", asyncio)
    assert _callbacks_of_wait_for_rpcs(OUTPUTS) <= 3 * OUTPUTS


# -- canaries: the SDK's own code, fixed upstream ----------------------------------------------


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=serialized.UPSTREAM)
@pytest.mark.usefixtures("restored_pickler")
def test_canary_the_sdk_s_serialize_provider_leaves_the_pickler_as_it_was() -> None:
    before = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    serialize_provider(CustomerProvider())
    assert pickle._Pickler._batch_setitems is before  # type: ignore[attr-defined]


class _Annotated(pulumi.CustomResource):
    """An SDK resource annotated as generated SDKs annotate theirs (at run time)."""

    serial_number: pulumi.Output[str]
    nickname: pulumi.Output[str | None]
    macs: pulumi.Output[list[str] | None]
    version: pulumi.Output[str | int | None]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=RESOURCE_TYPES_UPSTREAM)
def test_canary_the_sdk_computes_a_class_s_property_types_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pulumi import _types

    _types.resource_types(_Annotated)
    hints: list[object] = []
    sdk_get_type_hints = getattr(_types, "get_type_hints")  # noqa: B009 (not re-exported)

    def counting(*args: Any, **kwargs: Any) -> Any:
        hints.append(args[0])
        return sdk_get_type_hints(*args, **kwargs)

    monkeypatch.setattr(_types, "get_type_hints", counting)
    assert _types.resource_types(_Annotated) != {}
    assert hints == []


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=CHEAP_STACK_TRACE.upstream)
def test_canary_the_sdk_records_a_declaration_site_without_reading_source_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pulumi.runtime import resource

    sdk_get_stack_trace = sdk_workarounds.REPLACED.get(
        "_get_stack_trace", resource._get_stack_trace
    )
    reads: list[str] = []
    checkcache, getline = linecache.checkcache, linecache.getline

    def counting_checkcache(filename: str | None = None) -> None:
        reads.append(f"checkcache {filename}")
        checkcache(filename)

    def counting_getline(filename: str, lineno: int, module_globals: Any = None) -> str:
        reads.append(f"getline {filename}:{lineno}")
        return getline(filename, lineno, module_globals)

    monkeypatch.setattr(linecache, "checkcache", counting_checkcache)
    monkeypatch.setattr(linecache, "getline", counting_getline)
    _Declared(lambda: sdk_get_stack_trace() and None)
    assert reads == []


class _Plain(pulumi.CustomResource):
    """An SDK resource no workaround here knows of, with as many outputs as a `PlumeNode`."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Plain", name, {f"output{i}": None for i in range(24)})


DECLARED = 100


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=RAISED_GC_THRESHOLD.upstream)
@pytest.mark.usefixtures("saved_gc_threshold")
def test_canary_the_sdk_s_resources_leave_the_collector_mostly_idle() -> None:
    """With CPython's default thresholds, declaring and registering resources runs the cyclic
    collector less than once per ten resources."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    root = settings.get_root_resource()
    settings.ROOT.set(None)  # a stack resource of this loop, not of an earlier test's
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    SETTINGS.rpc_manager.clear()  # earlier tests' declarations, on loops of their own
    SETTINGS.outputs.clear()
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    async def program() -> None:
        for i in range(DECLARED):
            _Plain(f"plain-{i}")
            await asyncio.sleep(0)
        await stack.wait_for_rpcs()

    gc.set_threshold(700, 10, 10)
    gc.callbacks.append(count)
    try:
        loop.run_until_complete(program())
    finally:
        gc.callbacks.remove(count)
        loop.close()
        settings.ROOT.set(root)
    assert len(collections) <= DECLARED // 10


# -- the SDK's debug lines ---------------------------------------------------------------------


class _RecordingEngine:
    """An engine that records what the program logs to it."""

    def __init__(self) -> None:
        self.logged: list[tuple[int, str]] = []

    def Log(self, request: Any) -> None:
        self.logged.append((request.severity, request.message))


@pytest.fixture
def recording_engine(monkeypatch: pytest.MonkeyPatch) -> _RecordingEngine:
    engine = _RecordingEngine()
    monkeypatch.setattr(settings, "get_engine", lambda: engine)
    return engine


def _sdk_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every quiet module's `log` back to the SDK's own `pulumi.log`."""
    for name in QUIET_MODULES:
        monkeypatch.setattr(sys.modules[name], "log", pulumi.log)


def test_with_the_workarounds_a_plume_resource_sends_none_of_the_sdk_s_debug_lines_to_the_engine(
    monkeypatch: pytest.MonkeyPatch, recording_engine: _RecordingEngine
) -> None:
    _sdk_logs(monkeypatch)
    monkeypatch.delenv(SDK_DEBUG_ENV, raising=False)
    apply_sdk_workarounds()
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    monkeypatch.setattr(settings, "get_engine", lambda: recording_engine)
    PlumeCustomer("customer-Q-1", PlumeCustomerArgs(account_id="Q-1"))
    pulumi.log.debug("the program's own debug line")
    pulumi.log.info("the program's own info line")
    messages = [message for _, message in recording_engine.logged]
    assert not [m for m in messages if "customer-Q-1" in m or "plume:Customer" in m]
    assert messages[-2:] == ["the program's own debug line", "the program's own info line"]


def test_with_the_sdk_debug_variable_set_the_sdk_s_debug_lines_reach_the_engine(
    monkeypatch: pytest.MonkeyPatch, recording_engine: _RecordingEngine
) -> None:
    _sdk_logs(monkeypatch)
    monkeypatch.setenv(SDK_DEBUG_ENV, "1")
    install_quiet_sdk_debug()
    assert all(sys.modules[name].log is pulumi.log for name in QUIET_MODULES)
    sys.modules["pulumi.runtime.resource"].log.debug("registering resource: ty=x")
    assert recording_engine.logged == [
        (pulumi.runtime.proto.engine_pb2.DEBUG, "registering resource: ty=x")
    ]


def test_quiet_sdk_debug_keeps_every_other_log_call_of_the_sdk(
    monkeypatch: pytest.MonkeyPatch, recording_engine: _RecordingEngine
) -> None:
    _sdk_logs(monkeypatch)
    monkeypatch.delenv(SDK_DEBUG_ENV, raising=False)
    install_quiet_sdk_debug()
    install_quiet_sdk_debug()
    sdk_log = sys.modules["pulumi.runtime.resource"].log
    assert sdk_log is not pulumi.log
    sdk_log.debug("dropped")
    sdk_log.warn("a warning the SDK gives")
    assert recording_engine.logged == [
        (pulumi.runtime.proto.engine_pb2.WARNING, "a warning the SDK gives")
    ]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=QUIET_SDK_DEBUG.upstream)
def test_canary_the_sdk_sends_a_debug_line_only_to_an_engine_that_shows_it(
    recording_engine: _RecordingEngine,
) -> None:
    """The engine shows debug lines only under `--debug`; the SDK's `pulumi.log.debug` should
    not make a blocking RPC for each one when it is not."""
    pulumi.log.debug("registering resource: ty=x")
    assert recording_engine.logged == []


# -- outside the verified SDK versions: nothing patched, one warning ---------------------------


def _untouched_output_wait(monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    monkeypatch.setattr(stack, "asyncio", asyncio)
    install_linear_output_wait()
    install_linear_output_wait()
    return lambda: stack.asyncio is asyncio  # type: ignore[attr-defined]


def _untouched_stack_trace(monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    from pulumi.runtime import resource

    sdk = sdk_workarounds.REPLACED.get("_get_stack_trace", resource._get_stack_trace)
    monkeypatch.setattr(resource, "_get_stack_trace", sdk)
    sdk_workarounds.install_cheap_stack_trace()
    sdk_workarounds.install_cheap_stack_trace()
    return lambda: resource._get_stack_trace is sdk


def _untouched_sdk_debug(monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    _sdk_logs(monkeypatch)
    monkeypatch.delenv(SDK_DEBUG_ENV, raising=False)
    install_quiet_sdk_debug()
    install_quiet_sdk_debug()
    return lambda: all(sys.modules[name].log is pulumi.log for name in QUIET_MODULES)


def _untouched_serialize_provider(monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    from pulumi.dynamic import dynamic

    sdk = sdk_workarounds.REPLACED.get("serialize_provider", dynamic.serialize_provider)
    monkeypatch.setattr(dynamic, "serialize_provider", sdk)
    sdk_workarounds.install_serialize_provider_once()
    sdk_workarounds.install_serialize_provider_once()
    return lambda: dynamic.serialize_provider is sdk


def _untouched_gc_threshold(_monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    gc.set_threshold(700, 10, 10)
    raise_gc_threshold()
    raise_gc_threshold()
    return lambda: gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize(
    ("workaround", "install"),
    [
        (LINEAR_OUTPUT_WAIT, _untouched_output_wait),
        (CHEAP_STACK_TRACE, _untouched_stack_trace),
        (SERIALIZE_PROVIDER_ONCE, _untouched_serialize_provider),
        (RAISED_GC_THRESHOLD, _untouched_gc_threshold),
        (QUIET_SDK_DEBUG, _untouched_sdk_debug),
    ],
    ids=lambda value: value.name if isinstance(value, Workaround) else "",
)
@pytest.mark.usefixtures("saved_gc_threshold")
def test_outside_the_verified_sdk_versions_nothing_is_patched_and_one_warning_says_why(
    workaround: Workaround,
    install: Callable[[pytest.MonkeyPatch], Callable[[], bool]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sdk_workarounds, "sdk_version", lambda: (3, 300, 1))
    monkeypatch.setattr(sdk_workarounds, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="plume_provider.resources"):
        untouched = install(monkeypatch)
    assert untouched()
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert workaround.name in warnings[0]
    assert "pulumi 3.300.1 is outside 3.272..3.273" in warnings[0]
    assert workaround.check in warnings[0]
    assert workaround.upstream in warnings[0]


def test_the_installed_sdk_is_one_the_workarounds_were_verified_on() -> None:
    """A new `pulumi` package fails here first: check each workaround's `check` against its
    source, then widen `VERIFIED` (or drop what the new SDK fixed, as its canary says)."""
    low, high = sdk_workarounds.VERIFIED
    assert low <= sdk_workarounds.sdk_version() < high
    assert all(w.applies() for w in WORKAROUNDS)
    assert apply_sdk_workarounds() == tuple(w.name for w in WORKAROUNDS)


def test_the_pyproject_range_starts_where_the_workarounds_were_verified() -> None:
    """pyproject.toml allows newer SDKs (the workarounds then step aside); its floor is the
    verified one."""
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    low, _ = sdk_workarounds.VERIFIED
    assert f'"pulumi>={".".join(map(str, low))},<4"' in text


# -- without the explicit call: the SDK as it is ------------------------------------------------

_WITHOUT_THE_CALL = """
import asyncio, gc, pickle, sys
import pulumi
from pulumi.dynamic import dynamic
from pulumi.runtime import resource, stack

sdk = (stack.asyncio, resource._get_stack_trace, dynamic.serialize_provider, gc.get_threshold())
logs = {name: sys.modules[name].log for name in %(quiet)r if name in sys.modules}

from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs


class Echo(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return "id", dict(args.inputs)

    def call(self, args):
        return {}, None


pulumi.runtime.set_mocks(Echo(), project="plume-fleet", stack="test", preview=True)
home = PlumeCustomer("customer-A-1", PlumeCustomerArgs(account_id="A-1"))
PlumeNode("node-1", PlumeNodeArgs(customer_id=home.customer_id, location_id=home.location_id,
                                  serial_number="S-1"))
now = (stack.asyncio, resource._get_stack_trace, dynamic.serialize_provider, gc.get_threshold())
assert now == sdk, (now, sdk)
assert all(sys.modules[name].log is log for name, log in logs.items())
assert all(sys.modules[name].log is pulumi.log for name in %(quiet)r)
print("untouched")
"""


def test_a_program_declaring_resources_without_the_call_leaves_the_sdk_untouched() -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_CALL % {"quiet": QUIET_MODULES}],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "untouched"
