"""The SDK workarounds keep what Pulumi does and change only what it costs."""

from __future__ import annotations

import asyncio
import gc
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import stack

from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs
from plume_provider.resources.sdk_workarounds import (
    GC_YOUNG_THRESHOLD,
    install_linear_output_wait,
    raise_gc_threshold,
    restore_pickler,
)


class _Echo(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        return "id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], None]:
        return {}, None


def test_declaring_a_plume_resource_installs_the_linear_wait_and_leaves_pickle_unwrapped() -> None:
    original = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    PlumeCustomer("customer-A-1", PlumeCustomerArgs(account_id="A-1"))
    assert pickle._Pickler._batch_setitems is original  # type: ignore[attr-defined]
    assert stack.asyncio.wait is not asyncio.wait  # type: ignore[attr-defined]


def test_restore_pickler_undoes_a_wrapper() -> None:
    original = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]

    def wrapper(*args: object) -> None:
        original(*args)

    pickle._Pickler._batch_setitems = wrapper  # type: ignore[attr-defined]
    restore_pickler()
    assert pickle._Pickler._batch_setitems is original  # type: ignore[attr-defined]


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


def test_cached_resource_types_match_the_sdk_and_are_computed_once_per_class() -> None:
    from pulumi import _types

    from plume_provider.resources import PlumeNode
    from plume_provider.resources.sdk_workarounds import _CachedResourceTypes

    current = _types.resource_types
    sdk_resource_types: Callable[[type], dict[str, type]] = (
        current.__wrapped__ if isinstance(current, _CachedResourceTypes) else current
    )
    calls: list[type] = []

    def counting(cls: type) -> dict[str, type]:
        calls.append(cls)
        return sdk_resource_types(cls)

    cached = _CachedResourceTypes(counting)
    cached.register(PlumeNode)
    first = cached(PlumeNode)
    first.clear()
    assert cached(PlumeNode) == sdk_resource_types(PlumeNode) != {}
    assert calls == [PlumeNode]
    cached(pulumi.CustomResource)
    cached(pulumi.CustomResource)
    assert calls == [PlumeNode, pulumi.CustomResource, pulumi.CustomResource]


def test_declaring_a_plume_resource_caches_its_types_in_the_sdk() -> None:
    from pulumi import _types

    from plume_provider.resources.sdk_workarounds import _CachedResourceTypes

    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    PlumeCustomer("customer-A-2", PlumeCustomerArgs(account_id="A-2"))
    assert isinstance(_types.resource_types, _CachedResourceTypes)
    assert _types.resource_types(PlumeCustomer)["customer_id"] is str


class _Outer:
    def __init__(self, capture: Callable[[], None]) -> None:
        capture()


class _Middle(_Outer):
    def __init__(self, capture: Callable[[], None]) -> None:
        super().__init__(capture)


class _Declared(_Middle):
    def __init__(self, capture: Callable[[], None]) -> None:
        super().__init__(capture)


def test_the_cheap_stack_trace_records_the_same_frames_as_the_sdk() -> None:
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
    assert ours == sdks
    assert ours.frames[0].pc.uri == Path(__file__).as_uri()  # type: ignore[attr-defined]


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
def test_declaring_a_plume_resource_raises_the_default_gc_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    pulumi.runtime.set_mocks(_Echo(), project="plume-fleet", stack="test", preview=True)
    PlumeCustomer("customer-A-1", PlumeCustomerArgs(account_id="A-1"))
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
