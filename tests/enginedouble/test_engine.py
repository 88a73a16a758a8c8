"""The engine double itself, on a test-only program of toy counters (real SDK + real host).

Each run starts a fresh ``python -m pulumi.dynamic`` host, as the CLI does per operation.  The
toy provider logs every mutating call to a file, which is how ordering is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plume_testkit.enginedouble.engine import (
    EngineDouble,
    EngineError,
    load_stack_config,
    provider_config,
)
from plume_testkit.enginedouble.wire import UNKNOWN
from tests.enginedouble.toy_provider import live_ids, read_log

PROGRAM = Path(__file__).parent / "toy_program"
TYPE = "pulumi-python:dynamic/toy:Counter"


class Toy:
    """An engine over the toy program plus helpers to change its counters between runs."""

    def __init__(self, tmp_path: Path, counters: list[dict[str, Any]], parallelism: int = 4):
        self.store = tmp_path / "store"
        self.counters = counters
        self.engine = EngineDouble(
            PROGRAM,
            {"toy:storeDir": str(self.store), "toy:counters": counters},
            tmp_path / "state.json",
            parallelism=parallelism,
        )

    def set(self, counters: list[dict[str, Any]]) -> None:
        self.engine.stack_config["toy:counters"] = counters

    def urn(self, name: str) -> str:
        return self.engine.urn(TYPE, name)

    def state(self) -> dict[str, Any]:
        return {r.name: r for r in self.engine.checkpoint().resources}

    def ops(self) -> list[tuple[str, float | None]]:
        """(op, value) of every mutating provider call so far."""
        return [(e["op"], e.get("value")) for e in read_log(self.store) if e["op"] != "read"]


@pytest.fixture
def toy(tmp_path: Path) -> Toy:
    return Toy(tmp_path, [{"name": "a", "value": 1}, {"name": "b", "value": 2, "parent": "a"}])


def test_create_same_update_delete(toy: Toy) -> None:
    first = toy.engine.up()
    assert first.counts == {"create": 2}
    state = toy.state()
    assert state["b"].inputs["parentId"] == state["a"].id  # the real output reached b
    assert state["b"].dependencies == [toy.urn("a")]
    assert first.outputs["doubled"] == {"a": 2, "b": 4}

    again = toy.engine.up()
    assert again.counts == {"same": 2}
    assert again.mutating_calls == []

    toy.set([{"name": "a", "value": 5}, {"name": "b", "value": 2, "parent": "a"}])
    updated = toy.engine.up()
    assert updated.steps == [("update", toy.urn("a")), ("same", toy.urn("b"))]
    assert toy.engine.checkpoint().outputs["doubled"]["a"] == 10

    toy.set([{"name": "a", "value": 5}])
    removed = toy.engine.up()
    assert removed.changes == {"delete": 1}
    assert set(toy.state()) == {"a"}
    assert live_ids(toy.store) == {toy.state()["a"].id}


def test_replace_create_before_delete_defers_the_deletes(toy: Toy) -> None:
    toy.engine.up()
    toy.set([{"name": "a", "value": 1, "key": "k2"}, {"name": "b", "value": 2, "parent": "a"}])
    result = toy.engine.up()
    # a is replaced; b's parentId changes, so b is replaced too; old copies go last,
    # the dependent's old copy before its dependency's.
    assert result.counts == {"replace": 2, "delete-replaced": 2}
    assert toy.ops()[2:] == [("create", 1), ("create", 2), ("delete", 2), ("delete", 1)]
    assert len(live_ids(toy.store)) == 2
    assert all(not r.pending_delete for r in toy.engine.checkpoint().resources)


def test_delete_before_replace_deletes_dependents_first(toy: Toy) -> None:
    toy.engine.up()
    toy.set(
        [
            {"name": "a", "value": 1, "key": "k2", "dbr": True},
            {"name": "b", "value": 2, "parent": "a"},
        ]
    )
    result = toy.engine.up()
    assert toy.ops()[2:] == [("delete", 2), ("delete", 1), ("create", 1), ("create", 2)]
    assert result.steps == [
        ("delete-replaced", toy.urn("b")),
        ("delete-replaced", toy.urn("a")),
        ("replace", toy.urn("a")),
        ("replace", toy.urn("b")),
    ]
    state = toy.state()
    assert state["b"].inputs["parentId"] == state["a"].id


def test_delete_before_replace_resource_option(tmp_path: Path) -> None:
    toy = Toy(tmp_path, [{"name": "a", "value": 1}])
    toy.engine.up()
    toy.set([{"name": "a", "value": 1, "key": "k2", "dbrOption": True}])
    toy.engine.up()
    assert toy.ops() == [("create", 1), ("delete", 1), ("create", 1)]


def test_removed_resources_go_dependents_first_and_destroy_empties(tmp_path: Path) -> None:
    chain = [
        {"name": "a", "value": 1},
        {"name": "b", "value": 2, "parent": "a"},
        {"name": "c", "value": 3, "parent": "b"},
        {"name": "d", "value": 4},
    ]
    toy = Toy(tmp_path, chain)
    toy.engine.up()
    toy.set([chain[3]])
    toy.engine.up()
    assert [op for op in toy.ops() if op[0] == "delete"] == [
        ("delete", 3),
        ("delete", 2),
        ("delete", 1),
    ]
    toy.set(chain)
    toy.engine.up()
    destroyed = toy.engine.destroy()
    assert destroyed.counts == {"delete": 4}
    deletes = [value for op, value in toy.ops() if op == "delete"][3:]
    assert deletes.index(3) < deletes.index(2) < deletes.index(1)
    assert live_ids(toy.store) == set()
    checkpoint = toy.engine.checkpoint()
    assert checkpoint.resources == []
    assert checkpoint.outputs == {}


def test_protect_blocks_delete_and_replace(tmp_path: Path) -> None:
    toy = Toy(tmp_path, [{"name": "a", "value": 1, "protect": True}, {"name": "b", "value": 2}])
    toy.engine.up()
    assert toy.state()["a"].protect

    toy.set([{"name": "a", "value": 1, "protect": True, "key": "new"}])
    with pytest.raises(EngineError) as replace_err:
        toy.engine.up()
    assert 'unable to replace resource "' in str(replace_err.value)
    assert replace_err.value.result.errors[0].op == "replace"

    toy.set([])
    with pytest.raises(EngineError) as caught:
        toy.engine.up()
    [error] = caught.value.result.errors
    assert error.urn == toy.urn("a")
    assert error.message.startswith(f'unable to delete resource "{toy.urn("a")}"\n')
    assert "as it is currently marked for protection" in error.message
    assert "a" in toy.state()

    with pytest.raises(EngineError, match="marked for protection"):
        toy.engine.destroy()
    assert set(toy.state()) == {"a"}

    toy.set([{"name": "a", "value": 1}])  # unprotect, then it can go
    toy.engine.up()
    assert toy.engine.destroy().counts == {"delete": 1}


def test_retain_on_delete_drops_without_delete(tmp_path: Path) -> None:
    toy = Toy(tmp_path, [{"name": "a", "value": 1, "retain": True, "warn": "kept"}])
    created = toy.engine.up()
    assert "toy warning: kept" in created.host_log  # the host's stderr, per run
    kept_id = toy.state()["a"].id
    toy.set([])
    result = toy.engine.up()
    assert result.steps == [("retain", toy.urn("a"))]
    assert result.mutating_calls == []
    assert toy.state() == {}
    assert live_ids(toy.store) == {kept_id}


def test_preview_makes_no_mutating_calls(toy: Toy) -> None:
    toy.engine.up()
    saved = toy.engine.state_path.read_text()
    toy.set(
        [
            {"name": "a", "value": 7},
            {"name": "c", "value": 3},
            {"name": "d", "value": 4, "parent": "c"},
        ]
    )
    plan = toy.engine.preview()
    assert sorted(plan.steps) == sorted(
        [
            ("update", toy.urn("a")),
            ("create", toy.urn("c")),
            ("create", toy.urn("d")),
            ("delete", toy.urn("b")),
        ]
    )
    assert {method for method, _ in plan.calls} <= {"Configure", "Check", "Diff"}
    assert plan.outputs["doubled"]["c"] == UNKNOWN  # computed by a create: unknown
    assert toy.engine.state_path.read_text() == saved
    assert len(toy.ops()) == 2


def test_refresh_reads_drift_and_drops_gone(toy: Toy) -> None:
    toy.engine.up()
    state = toy.state()
    (toy.store / f"{state['b'].id}.json").unlink()  # deleted out of band
    live_a = toy.store / f"{state['a'].id}.json"
    drifted = json.loads(live_a.read_text()) | {"value": 9, "doubled": 18}
    live_a.write_text(json.dumps(drifted))

    refreshed = toy.engine.refresh()
    assert sorted(refreshed.steps) == [("delete", toy.urn("b")), ("update", toy.urn("a"))]
    assert {m for m, _ in refreshed.calls} == {"Configure", "Read"}
    state = toy.state()
    assert set(state) == {"a"}
    assert state["a"].outputs["doubled"] == 18
    assert state["a"].inputs["value"] == 9

    restored = toy.engine.up()
    assert restored.counts == {"update": 1, "create": 1}
    assert toy.state()["a"].outputs["doubled"] == 2


def test_failure_keeps_partial_state_and_independent_work(tmp_path: Path) -> None:
    toy = Toy(
        tmp_path,
        [
            {"name": "ok1", "value": 1},
            {"name": "bad", "value": 2, "failOn": "create"},
            {"name": "child", "value": 3, "parent": "bad"},
            {"name": "ok2", "value": 4},
            {"name": "neg", "value": -1},
        ],
    )
    with pytest.raises(EngineError) as caught:
        toy.engine.up()
    result = caught.value.result
    messages = {error.urn: error.message for error in result.errors}
    assert messages[toy.urn("bad")] == "toy create failed for value 2.0"
    assert (
        "property value value {-1.0} has a problem: value must be a number >= 0"
        in (messages[toy.urn("neg")])
    )
    assert toy.urn("bad") in str(caught.value)
    assert result.skipped == [toy.urn("child")]
    assert set(toy.state()) == {"ok1", "ok2"}

    # raise_on_error=False returns the same information.
    toy.set([{"name": "ok1", "value": 1}, {"name": "bad", "value": 2, "failOn": "create"}])
    quiet = toy.engine.up(raise_on_error=False)
    assert not quiet.ok
    # With errors, resources no longer declared are not deleted.
    assert set(toy.state()) == {"ok1", "ok2"}


def test_program_error_fails_before_any_provider_call(tmp_path: Path) -> None:
    toy = Toy(tmp_path, [{"name": "a", "value": 1}])
    toy.engine.stack_config["toy:crash"] = "bad value one; bad value two"
    with pytest.raises(EngineError) as caught:
        toy.engine.up()
    [error] = caught.value.result.errors
    assert error.op == "program"
    assert "ValueError: invalid toy config: bad value one; bad value two" in error.message
    assert caught.value.result.calls == [("Configure", "")]


def test_program_error_while_registering_is_reported(tmp_path: Path) -> None:
    # The SDK fails serializing a lone surrogate; pending SDK tasks must not mask that error.
    toy = Toy(tmp_path, [{"name": "a", "value": 1, "label": "x\ud800y"}])
    with pytest.raises(EngineError) as caught:
        toy.engine.up()
    [error] = caught.value.result.errors
    assert error.op == "program"
    assert "surrogates not allowed" in error.message
    assert "While processing resource: 'a'" in error.message


def test_independent_resources_run_concurrently(tmp_path: Path) -> None:
    counters = [{"name": f"c{i}", "value": i, "sleep": 0.3} for i in range(4)]

    def overlap(parallelism: int) -> int:
        toy = Toy(tmp_path / str(parallelism), counters, parallelism=parallelism)
        toy.engine.up()
        events = sorted(
            (e["t"], e["op"]) for e in read_log(toy.store) if e["op"].startswith("create")
        )
        running = peak = 0
        for _, op in events:
            running += 1 if op == "create-start" else -1
            peak = max(peak, running)
        return peak

    assert overlap(4) == 4
    assert overlap(1) == 1


def test_import_matches_or_fails(tmp_path: Path) -> None:
    maker = Toy(tmp_path / "maker", [{"name": "orig", "value": 3}])
    maker.engine.up()
    existing = maker.state()["orig"].id
    store = maker.store

    toy = Toy(tmp_path, [{"name": "adopted", "value": 3, "importId": existing}])
    toy.store = store
    toy.engine.stack_config["toy:storeDir"] = str(store)
    imported = toy.engine.up()
    assert imported.steps == [("import", toy.urn("adopted"))]
    assert imported.mutating_calls == []
    assert toy.state()["adopted"].id == existing

    other = Toy(tmp_path / "other", [{"name": "x", "value": 4, "importId": existing}])
    other.engine.stack_config["toy:storeDir"] = str(store)
    with pytest.raises(
        EngineError, match="inputs to import do not match the existing resource"
    ) as bad:
        other.engine.up()
    assert bad.value.result.errors[0].op == "import"
    missing = Toy(tmp_path / "missing", [{"name": "y", "value": 4, "importId": "nope"}])
    missing.engine.stack_config["toy:storeDir"] = str(store)
    with pytest.raises(EngineError, match="resource 'nope' does not exist"):
        missing.engine.up()


def test_load_stack_config_honours_stack_config_dir() -> None:
    config = load_stack_config(PROGRAM, "dev")
    assert config["toy:counters"] == [{"name": "a", "value": 1}]
    assert provider_config(config, "toy") == {
        "toy:storeDir": "/tmp/unused-toy-store",
        "toy:counters": '[{"name": "a", "value": 1}]',
        "toy:flag": "true",
    }
    assert provider_config({"plain": 6}, "proj") == {"proj:plain": "6"}
