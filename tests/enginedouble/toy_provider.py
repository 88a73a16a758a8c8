"""A tiny file-backed dynamic provider used only to test the engine double and the host.

``ToyProvider`` keeps each ``Counter`` as ``<store>/<id>.json`` and appends every mutating call
to ``<store>/calls.log`` (one JSON object per line), so a test in another process (the dynamic
host) can see what happened.  The store directory comes from the stack config key
``toy:storeDir`` (passed to Configure, as the engine does for dynamic providers).

Inputs of a ``Counter``: ``value`` (a number >= 0, else Check fails), ``label`` (a change
updates in place), ``key`` and ``parentId`` (a change forces replacement), ``dbr`` (replace
delete-before-create), ``failOn`` (an op name -- ``create``, ``update``, ``delete``, ``read``
-- that raises), ``sleep`` (seconds to block in create, to observe concurrency), ``warn`` (a
warning the provider logs on create, i.e. on the host's stderr).  Test programs
set ``parentId`` from another counter's ``counterId`` output to make one depend on another.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

_LOCK = threading.Lock()
_INPUT_KEYS = ("value", "label", "key", "dbr", "failOn", "sleep", "parentId", "warn")
_LOGGER = logging.getLogger("toy")


class ToyFailure(Exception):
    """Raised when ``failOn`` names the current operation."""


class ToyProvider(ResourceProvider):
    """File-backed counters (see module docstring)."""

    store: Path | None = None

    def configure(self, req: ConfigureRequest) -> None:
        store = req.config.get("toy:storeDir")
        self.store = Path(store) if store else None

    # -- helpers ---------------------------------------------------------------------------

    def _dir(self) -> Path:
        if self.store is None:
            raise RuntimeError("toy:storeDir is not configured")
        self.store.mkdir(parents=True, exist_ok=True)
        return self.store

    def _log(self, op: str, id_: str, **extra: Any) -> None:
        entry = {"op": op, "id": id_, "t": time.monotonic(), "pid": os.getpid(), **extra}
        with _LOCK, (self._dir() / "calls.log").open("a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def _path(self, id_: str) -> Path:
        return self._dir() / f"{id_}.json"

    @staticmethod
    def _fail(props: dict[str, Any], op: str) -> None:
        if props.get("failOn") == op:
            raise ToyFailure(f"toy {op} failed for value {props.get('value')!r}")

    @staticmethod
    def _outs(id_: str, props: dict[str, Any]) -> dict[str, Any]:
        outs = {k: props[k] for k in _INPUT_KEYS if k in props}
        outs["counterId"] = id_
        outs["doubled"] = int(props.get("value", 0)) * 2
        return outs

    # -- provider ------------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        value = news.get("value")
        if not isinstance(value, int | float) or value < 0:
            failures.append(CheckFailure("value", f"value must be a number >= 0, got {value!r}"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("key", "parentId") if olds.get(k) != news.get(k)]
        changed = [k for k in _INPUT_KEYS if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=bool(news.get("dbr")) if replaces else None,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._fail(props, "create")
        if props.get("warn"):
            _LOGGER.warning("toy warning: %s", props["warn"])
        if props.get("sleep"):
            self._log("create-start", "", value=props.get("value"))
            time.sleep(float(props["sleep"]))
        id_ = uuid.uuid4().hex[:12]
        outs = self._outs(id_, props)
        self._path(id_).write_text(json.dumps(outs))
        self._log("create", id_, value=props.get("value"))
        return CreateResult(id_, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._fail(props, "read")
        path = self._path(id_)
        self._log("read", id_)
        if not path.exists():
            return ReadResult(None, {})
        live = json.loads(path.read_text())
        return ReadResult(id_, live, {k: live[k] for k in _INPUT_KEYS if k in live})

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._fail(news, "update")
        outs = self._outs(id_, news)
        self._path(id_).write_text(json.dumps(outs))
        self._log("update", id_, value=news.get("value"))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._fail(props, "delete")
        self._path(id_).unlink(missing_ok=True)
        self._log("delete", id_, value=props.get("value"))


class Counter(Resource, module="toy", name="Counter"):
    """A toy dynamic resource: type ``pulumi-python:dynamic/toy:Counter``."""

    counterId: pulumi.Output[str]
    doubled: pulumi.Output[int]
    value: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ToyProvider(), name, {"counterId": None, "doubled": None, **props}, opts)


def read_log(store: Path) -> list[dict[str, Any]]:
    """The calls the provider recorded in ``store`` (empty if none)."""
    path = store / "calls.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def live_ids(store: Path) -> set[str]:
    """Ids of the counters currently stored."""
    return {p.stem for p in store.glob("*.json")}
