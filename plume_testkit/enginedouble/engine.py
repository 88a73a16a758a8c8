"""A TEST DOUBLE of the Pulumi engine, for tests only -- not a product, not a Pulumi replacement.

The real CLI (``make pulumi-cli``) is the truth, and ``tests/cli`` runs the lifecycle on it.
``EngineDouble`` is the fast path beside it (the fault soak, races, scale tests, the old
benchmark), kept faithful by ``tests/cli/test_engine_double_fidelity.py``. It plays the CLI's
part with the same pieces the CLI drives:

* the real Pulumi program (``__main__.py``) runs in its own process on the real Python SDK, the
  way the language host runs it (``program_runner``: ``run_in_stack`` + ``runpy``, stack config
  installed as Pulumi config, project name from ``Pulumi.yaml``), talking over gRPC to a
  ResourceMonitor and an Engine service the double serves for the run;
* every dynamic resource goes through the real dynamic-provider host ``python -m pulumi.dynamic``
  over gRPC (``ProviderHost``), configured once per run with the whole stack config.

Semantics mirror the engine's step generation closely enough for lifecycle tests: Check, then
Diff against the checkpoint, then Create / Update / Replace (delete-before-replace or
create-before-delete) / Same, imports via Read + Diff, deletes of resources no longer declared
in reverse dependency order, ``protect`` and ``retainOnDelete``, partial progress saved on
failure, preview (Check and Diff only, unknown outputs), refresh (Read) and destroy.  The
checkpoint is a small JSON file (like a local backend's).  Concurrency: registrations arrive
concurrently on the monitor's gRPC worker threads; as in the engine, Check and Diff run in one
step generator (a registration at a time) and only the resulting steps are gated by a semaphore
of ``parallelism`` (the CLI default is unbounded, but the dynamic host serves 4 calls at once,
so 4 is the effective width).  Unsupported: non-dynamic custom resources, aliases,
replaceOnChanges, transforms, secrets in the checkpoint (stored in plain text), invokes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from plume_testkit import REPO_ROOT

from .host import (
    PROVIDER_KEY,
    UNKNOWN,
    ProviderError,
    ProviderHost,
    from_struct,
    to_struct,
)

__all__ = [
    "Checkpoint",
    "EngineDouble",
    "EngineError",
    "ResourceError",
    "ResourceState",
    "RunResult",
    "load_stack_config",
    "provider_config",
]

STACK_TYPE = "pulumi:pulumi:Stack"
MUTATING_CALLS = frozenset({"Create", "Update", "Delete"})
"""Provider calls that change the outside world (Read is not one: refresh and import use it)."""

_LOG = logging.getLogger(__name__)


# -- config ----------------------------------------------------------------------------------


def load_project(project_dir: Path) -> dict[str, Any]:
    """The project's ``Pulumi.yaml`` as a dict."""
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    return data


def load_stack_config(project_dir: Path, stack_name: str) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml`` (in ``stackConfigDir`` if the project sets
    one), values as written in YAML (strings, numbers, bools, lists, maps)."""
    project = load_project(project_dir)
    config_dir = project_dir / str(project.get("stackConfigDir") or ".")
    path = config_dir / f"Pulumi.{stack_name}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: config must be a map")
    return dict(config)


def provider_config(stack_config: Mapping[str, object], project: str) -> dict[str, str]:
    """Stack config as the engine hands it to programs and dynamic providers.

    Keys are namespaced (``key`` becomes ``<project>:key``); values are strings, and
    non-string values are JSON (``false``, ``6``, lists and maps), as ``pulumi config`` stores
    them.  Encrypted (``secure:``) values are not supported by the double.
    """
    result: dict[str, str] = {}
    for key, value in stack_config.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            raise ValueError(f"{full_key}: encrypted config is not supported by the engine double")
        result[full_key] = value if isinstance(value, str) else json.dumps(value)
    return result


# -- state -----------------------------------------------------------------------------------


@dataclass
class ResourceState:
    """One resource in the checkpoint (what the engine saves per resource)."""

    urn: str
    type: str
    name: str
    id: str = ""
    custom: bool = True
    parent: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    pending_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        """The checkpoint form (camelCase, like Pulumi's)."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "custom": self.custom,
            "parent": self.parent,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "pendingDelete": self.pending_delete,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceState:
        """Inverse of ``to_json``."""
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data.get("name") or data["urn"].rsplit("::", 1)[-1],
            id=data.get("id") or "",
            custom=bool(data.get("custom", True)),
            parent=data.get("parent") or "",
            inputs=dict(data.get("inputs") or {}),
            outputs=dict(data.get("outputs") or {}),
            dependencies=list(data.get("dependencies") or []),
            property_dependencies={
                k: list(v) for k, v in (data.get("propertyDependencies") or {}).items()
            },
            protect=bool(data.get("protect", False)),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
            pending_delete=bool(data.get("pendingDelete", False)),
        )


@dataclass
class Checkpoint:
    """The saved stack: resources (dependencies before dependents) and stack outputs."""

    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read ``path`` (an empty checkpoint if it does not exist)."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(
            [ResourceState.from_json(r) for r in data.get("resources", [])],
            dict(data.get("outputs") or {}),
        )

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        data = {
            "version": 1,
            "outputs": self.outputs,
            "resources": [r.to_json() for r in self.resources],
        }
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)

    def get(self, urn: str) -> ResourceState | None:
        """The live (not pending-delete) resource ``urn``."""
        for resource in self.resources:
            if resource.urn == urn and not resource.pending_delete:
                return resource
        return None

    def by_type(self, type_: str) -> list[ResourceState]:
        """Live resources of one type."""
        return [r for r in self.resources if r.type == type_ and not r.pending_delete]


def _ordered(resources: Iterable[ResourceState]) -> list[ResourceState]:
    """Dependencies (and parents) before dependents, otherwise stable."""
    items = list(resources)
    by_urn: dict[str, list[int]] = {}
    for index, resource in enumerate(items):
        by_urn.setdefault(resource.urn, []).append(index)
    order: list[int] = []
    state: dict[int, int] = {}  # 1 = visiting, 2 = done

    def visit(index: int) -> None:
        if state.get(index):
            return
        state[index] = 1
        resource = items[index]
        for dep in [resource.parent, *resource.dependencies]:
            for dep_index in by_urn.get(dep, []):
                visit(dep_index)
        state[index] = 2
        order.append(index)

    for index in range(len(items)):
        visit(index)
    return [items[i] for i in order]


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceError:
    """One failed step: the resource, the operation and the provider's (or engine's) message."""

    urn: str
    op: str
    message: str
    details: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.urn} [{self.op}]: {self.message}"


@dataclass
class RunResult:
    """What a run did.

    ``steps`` are (op, urn) in completion order; ops are ``create``, ``update``, ``replace``
    (the replacement was created), ``delete-replaced`` (the replaced copy was deleted),
    ``delete``, ``same``, ``import``, ``retain`` (dropped from state without Delete: the
    resource has ``retainOnDelete``); for a preview they are the planned steps; for refresh
    ``same`` / ``update`` (the live outputs changed) / ``delete`` (gone).  ``calls`` are the
    provider calls made over gRPC during the run, as (method, urn); ``host_log`` what the
    dynamic-provider host wrote to stderr meanwhile (provider warnings, tracebacks).
    """

    operation: str
    steps: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    errors: list[ResourceError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    host_log: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        """Number of steps per op."""
        return dict(Counter(op for op, _ in self.steps))

    @property
    def changes(self) -> dict[str, int]:
        """``counts`` without ``same``."""
        return {op: n for op, n in self.counts.items() if op != "same"}

    @property
    def mutating_calls(self) -> list[tuple[str, str]]:
        """Create/Update/Delete calls made to providers."""
        return [call for call in self.calls if call[0] in MUTATING_CALLS]

    def urns(self, op: str) -> list[str]:
        """URNs of the steps with ``op``."""
        return [urn for step_op, urn in self.steps if step_op == op]


class EngineError(Exception):
    """A run failed; ``result`` has the steps that did complete and every error."""

    def __init__(self, result: RunResult) -> None:
        lines = [f"{result.operation} failed with {len(result.errors)} error(s):"]
        lines += [f"  - {error}" for error in result.errors]
        super().__init__("\n".join(lines))
        self.result = result


class StepError(Exception):
    """An engine-side failure of one step (check failures, protect, import mismatch...)."""

    def __init__(self, op: str, message: str) -> None:
        super().__init__(message)
        self.op = op


def _protect_message(action: str, urn: str) -> str:
    return (
        f'unable to {action} resource "{urn}"\n'
        "as it is currently marked for protection. To unprotect the resource, remove the "
        "`protect` flag from the resource in your Pulumi program and run `pulumi up`, or use "
        f"the command:\n`pulumi state unprotect '{urn}'`"
    )


# -- one deployment (one run) ---------------------------------------------------------------


class _Deployment:
    """The state of one run; the monitor calls ``register`` from the SDK's threads."""

    def __init__(
        self,
        engine: EngineDouble,
        host: ProviderHost,
        checkpoint: Checkpoint,
        *,
        preview: bool,
        result: RunResult,
    ) -> None:
        self.engine = engine
        self.host = host
        self.preview = preview
        self.result = result
        self.old = checkpoint
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(engine.parallelism)
        self.generator = threading.Lock()
        self.registered: set[str] = set()
        self.failed: set[str] = set()
        self.new: list[ResourceState] = []
        self.gone: set[int] = set()  # id() of old ResourceStates deleted (or dropped) this run
        self.replaced: list[ResourceState] = []  # olds awaiting delete after their replacement
        self.replacing: set[str] = set()  # dependents deleted ahead of a delete-before-replace
        self.stack_outputs: dict[str, Any] | None = None

    # bookkeeping -----------------------------------------------------------------------------

    def step(self, op: str, urn: str) -> None:
        with self.lock:
            self.result.steps.append((op, urn))

    def error(self, urn: str, op: str, message: str, details: str = "") -> None:
        with self.lock:
            self.result.errors.append(ResourceError(urn, op, message, details))
            self.failed.add(urn)

    def live_old(self, urn: str) -> ResourceState | None:
        with self.lock:
            for resource in self.old.resources:
                if resource.urn == urn and not resource.pending_delete:
                    return None if id(resource) in self.gone else resource
        return None

    def mark_gone(self, resource: ResourceState) -> None:
        with self.lock:
            self.gone.add(id(resource))

    # registration ----------------------------------------------------------------------------

    def register(self, req: Any, urn: str, parent: str) -> resource_pb2.RegisterResourceResponse:
        """Handle one RegisterResource: run its steps and answer with the outputs."""
        goal = ResourceState(
            urn=urn,
            type=req.type,
            name=req.name,
            custom=bool(req.custom),
            parent=parent,
            inputs=from_struct(req.object),
            dependencies=list(dict.fromkeys(req.dependencies)),
            property_dependencies={k: list(v.urns) for k, v in req.propertyDependencies.items()},
            protect=req.protect if req.HasField("protect") else False,
            retain_on_delete=req.retainOnDelete if req.HasField("retainOnDelete") else False,
        )
        with self.lock:
            duplicate = urn in self.registered
            self.registered.add(urn)
            blocked = [dep for dep in goal.dependencies if dep in self.failed]
            if blocked:
                self.failed.add(urn)
                self.result.skipped.append(urn)
        if duplicate:
            self.error(
                urn, "register", f"Duplicate resource URN '{urn}'; try giving it a unique name"
            )
            return resource_pb2.RegisterResourceResponse(urn=urn, result=resource_pb2.Result.FAIL)
        if blocked:
            return resource_pb2.RegisterResourceResponse(urn=urn, result=resource_pb2.Result.FAIL)
        if not goal.custom:
            with self.lock:
                self.new.append(goal)
            return resource_pb2.RegisterResourceResponse(urn=urn, object=to_struct(goal.inputs))
        try:
            if PROVIDER_KEY not in goal.inputs:
                raise StepError(
                    "check",
                    f"{goal.type}: the engine double drives only pulumi-python dynamic resources",
                )
            resource = self._steps(goal, req)
        except ProviderError as err:
            self.error(urn, err.method.lower(), err.message, err.details)
            return resource_pb2.RegisterResourceResponse(urn=urn, result=resource_pb2.Result.FAIL)
        except StepError as err:
            self.error(urn, err.op, str(err))
            return resource_pb2.RegisterResourceResponse(urn=urn, result=resource_pb2.Result.FAIL)
        with self.lock:
            self.new.append(resource)
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource.id, object=to_struct(resource.outputs)
        )

    def _steps(self, goal: ResourceState, req: Any) -> ResourceState:
        """Check and Diff, then the resulting step; returns the resource's new state.

        Like the engine, Check and Diff run in the step generator, one registration at a time,
        and only the step it yields (create, update, replace, import) takes one of the
        ``parallelism`` slots.
        """
        with self.generator:
            step = self._generate(goal, req)
        if step is None:
            return goal
        with self.slots:
            return step()

    def _generate(self, goal: ResourceState, req: Any) -> Callable[[], ResourceState] | None:
        """Check and Diff ``goal``; the step to execute, or None when it is the same."""
        host, urn = self.host, goal.urn
        old = self.live_old(urn)
        news = dict(goal.inputs)
        if old is not None:
            for key in req.ignoreChanges:
                if key in old.inputs:
                    news[key] = old.inputs[key]
                else:
                    news.pop(key, None)
        checked = host.check(urn, old.inputs if old else {}, news)
        if checked.failures:
            raise StepError(
                "check",
                "; ".join(
                    f"{goal.type} resource '{goal.name}': property {f.property} value "
                    f"{{{news.get(f.property)!r}}} has a problem: {f.reason}"
                    if f.property
                    else f"{goal.type} resource '{goal.name}': {f.reason}"
                    for f in checked.failures
                ),
            )
        goal.inputs = checked.inputs
        if old is None:
            import_id = req.importId
            if import_id:
                return lambda: self._import(goal, import_id)
            return lambda: self._create(goal)

        diff = host.diff(urn, old.id, old.outputs, goal.inputs, old.inputs)
        if diff.replaces:
            dbr = diff.delete_before_replace or bool(req.deleteBeforeReplace)
            return lambda: self._replace(goal, old, dbr)
        changed = diff.changes if diff.changes is not None else old.inputs != goal.inputs
        goal.id = old.id
        if not changed:
            goal.outputs = old.outputs
            self.step("same", urn)
            return None
        return lambda: self._update(goal, old)

    def _update(self, goal: ResourceState, old: ResourceState) -> ResourceState:
        if self.preview:
            goal.outputs = dict(goal.inputs)
        else:
            goal.outputs = self.host.update(goal.urn, old.id, old.outputs, goal.inputs)
        self.step("update", goal.urn)
        return goal

    def _create(self, goal: ResourceState) -> ResourceState:
        if self.preview:
            goal.outputs = dict(goal.inputs)
        else:
            goal.id, goal.outputs = self.host.create(goal.urn, goal.inputs)
        with self.lock:
            op = "replace" if goal.urn in self.replacing else "create"
        self.step(op, goal.urn)
        return goal

    def _import(self, goal: ResourceState, import_id: str) -> ResourceState:
        """Read the existing resource, then fail unless it matches the declared inputs."""
        if self.preview:
            goal.outputs = dict(goal.inputs)
            self.step("import", goal.urn)
            return goal
        read = self.host.read(goal.urn, import_id, {}, goal.inputs)
        if not read.id:
            raise StepError("import", f"resource '{import_id}' does not exist")
        diff = self.host.diff(goal.urn, read.id, read.outs, goal.inputs, read.inputs)
        if diff.replaces or diff.changes:
            live = read.inputs if read.inputs is not None else read.outs
            differing = sorted(
                key
                for key, value in goal.inputs.items()
                if key != PROVIDER_KEY and live.get(key) != value
            )
            raise StepError(
                "import",
                "inputs to import do not match the existing resource; importing this resource "
                f"will fail (differing: {', '.join(differing) or ', '.join(diff.replaces)})",
            )
        goal.id, goal.outputs = read.id, read.outs
        self.step("import", goal.urn)
        return goal

    def _replace(self, goal: ResourceState, old: ResourceState, dbr: bool) -> ResourceState:
        if goal.protect or old.protect:
            raise StepError("replace", _protect_message("replace", goal.urn))
        if self.preview:
            goal.outputs = dict(goal.inputs)
            self.step("replace", goal.urn)
            return goal
        if dbr:
            self._delete_dependents_first(old)
            self._delete(old, "delete-replaced")
            goal.id, goal.outputs = self.host.create(goal.urn, goal.inputs)
        else:
            goal.id, goal.outputs = self.host.create(goal.urn, goal.inputs)
            with self.lock:
                self.replaced.append(old)
        self.step("replace", goal.urn)
        return goal

    def _delete_dependents_first(self, old: ResourceState) -> None:
        """Before a delete-before-replace, delete saved dependents that must be replaced too.

        Like the engine, a dependent must go when its Diff -- with the properties that came from
        the replaced resource made unknown -- asks for replacement.
        """
        with self.lock:
            dependents = [
                r
                for r in self.old.resources
                if old.urn in r.dependencies
                and not r.pending_delete
                and id(r) not in self.gone
                and r.urn not in {n.urn for n in self.new}
            ]
        for dependent in reversed(_ordered(dependents)):
            if id(dependent) in self.gone:
                continue
            news = dict(dependent.inputs)
            for prop, urns in dependent.property_dependencies.items():
                if old.urn in urns:
                    news[prop] = UNKNOWN
            if dependent.custom:
                diff = self.host.diff(
                    dependent.urn, dependent.id, dependent.outputs, news, dependent.inputs
                )
                if not diff.replaces:
                    continue
            self._delete_dependents_first(dependent)
            self._delete(dependent, "delete-replaced")
            with self.lock:
                self.replacing.add(dependent.urn)

    def _delete(self, resource: ResourceState, op: str = "delete") -> None:
        """Delete one saved resource (honouring protect and retainOnDelete)."""
        if resource.protect:
            raise StepError("delete", _protect_message("delete", resource.urn))
        if not resource.custom:
            self.mark_gone(resource)
            return
        if resource.retain_on_delete:
            self.mark_gone(resource)
            self.step("retain", resource.urn)
            return
        if not self.preview:
            self.host.delete(resource.urn, resource.id, resource.outputs)
        self.mark_gone(resource)
        self.step(op, resource.urn)

    def delete_many(self, resources: list[ResourceState], replaced: Iterable[int] = ()) -> None:
        """Delete ``resources`` dependents-first, independent ones concurrently.

        A failed delete keeps the resources it depends on (they are still in use).
        """
        if not resources:
            return
        urns = [r.urn for r in resources]
        # must_wait[i]: indexes of resources that depend on resource i (deleted before it).
        must_wait = [
            {
                j
                for j, other in enumerate(resources)
                if j != i and (urn in other.dependencies or other.parent == urn)
            }
            for i, urn in enumerate(urns)
        ]
        status = ["pending"] * len(resources)
        replaced_ids = set(replaced)
        with ThreadPoolExecutor(max_workers=self.engine.parallelism) as pool:
            running: dict[Future[None], int] = {}
            while True:
                for i, state in enumerate(status):
                    if state != "pending":
                        continue
                    if any(status[j] in ("failed", "blocked") for j in must_wait[i]):
                        status[i] = "blocked"
                    elif all(status[j] == "done" for j in must_wait[i]):
                        status[i] = "running"
                        op = "delete-replaced" if id(resources[i]) in replaced_ids else "delete"
                        running[pool.submit(self._delete, resources[i], op)] = i
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    i = running.pop(future)
                    try:
                        future.result()
                        status[i] = "done"
                    except ProviderError as err:
                        self.error(urns[i], "delete", err.message)
                        status[i] = "failed"
                    except StepError as err:
                        self.error(urns[i], err.op, str(err))
                        status[i] = "failed"
                if all(s in ("done", "failed", "blocked") for s in status) and not running:
                    break

    def final_resources(self) -> list[ResourceState]:
        """The checkpoint after the run: new states plus every old one not deleted."""
        new_urns = {r.urn for r in self.new}
        replaced = {id(r) for r in self.replaced}
        kept: list[ResourceState] = []
        for resource in self.old.resources:
            if id(resource) in self.gone:
                continue
            if id(resource) in replaced:
                resource.pending_delete = True
            if resource.pending_delete or resource.urn not in new_urns:
                kept.append(resource)
        return _ordered([*self.new, *kept])


class _Monitor(pulumi_mocks.MockMonitor):
    """The engine's resource monitor, as the SDK sees it: forwards registrations to the run."""

    def __init__(self, deployment: _Deployment, project: str, stack: str) -> None:
        super().__init__(_NoMocks())
        self.deployment = deployment
        self.project = project
        self.stack = stack
        self.stack_urn = f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them (the root stack is not part of the type chain)."""
        if parent and parent != self.stack_urn:
            qualified = parent.split("::")[2]
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        parent = "" if request.parent == self.stack_urn else request.parent
        return self.deployment.register(request, urn, parent)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.deployment.stack_outputs = from_struct(request.outputs)
        return empty_pb2.Empty()


class _NoMocks(pulumi_mocks.Mocks):
    """Invokes and reads of existing resources are not part of this double."""

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise NotImplementedError(f"invoke {args.token} is not supported by the engine double")

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        raise NotImplementedError(f"reading {args.typ} is not supported by the engine double")


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """The ResourceMonitor gRPC service over ``_Monitor`` (what the program's process calls)."""

    def __init__(self, monitor: _Monitor) -> None:
        self.monitor = monitor

    def _unsupported(self, context: grpc.ServicerContext, what: str) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"{what} is not supported by the engine double"
        )

    def GetDeploymentInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.GetDeploymentInfo(request)  # type: ignore[no-untyped-call]

    def SupportsFeature(self, request: Any, context: grpc.ServicerContext) -> Any:
        # As the mock monitor: no outputValues, so inputs arrive as plain values.
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def RegisterResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterResourceOutputs(request)

    def RegisterPackage(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterPackage(request)  # type: ignore[no-untyped-call]

    def SignalAndWaitForShutdown(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterResourceHook(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterErrorHook(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterStackTransform(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, "transforms")

    def RegisterStackInvokeTransform(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, "invoke transforms")

    def Invoke(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"invoke {request.tok}")

    def Call(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"call {request.tok}")

    def ReadResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"reading {request.type}")


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    """The Engine gRPC service: program log messages go to the engine's logger."""

    _LEVELS = {
        engine_pb2.DEBUG: logging.DEBUG,
        engine_pb2.INFO: logging.INFO,
        engine_pb2.WARNING: logging.WARNING,
        engine_pb2.ERROR: logging.ERROR,
    }

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.root = ""
        self.lock = threading.Lock()

    def Log(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.logger.log(self._LEVELS.get(request.severity, logging.INFO), request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            self.root = request.urn
        return engine_pb2.SetRootResourceResponse()


# -- the engine --------------------------------------------------------------------------------


class EngineDouble:
    """Runs ``up`` / ``preview`` / ``refresh`` / ``destroy`` of one stack (see module docstring).

    ``program`` is the project's ``__main__.py`` (or its directory, which must hold
    ``Pulumi.yaml``).  ``stack_config`` is the stack's ``config:`` map (see
    ``load_stack_config``).  ``host``: a running ``ProviderHost`` to reuse; by default each run
    starts (and stops) its own, as the CLI starts a fresh provider process per operation.
    """

    def __init__(
        self,
        program: Path,
        stack_config: Mapping[str, object],
        state_path: Path,
        host: ProviderHost | None = None,
        parallelism: int = 4,
        *,
        stack: str = "dev",
        project: str | None = None,
        host_factory: Callable[[], ProviderHost] | None = None,
    ) -> None:
        program = Path(program)
        self.program = program / "__main__.py" if program.is_dir() else program
        self.project_dir = self.program.parent
        if project is None:
            project = str(load_project(self.project_dir)["name"])
        self.project = project
        self.stack = stack
        self.stack_config = dict(stack_config)
        self.state_path = Path(state_path)
        self.host = host
        self.parallelism = max(1, parallelism)
        self.host_factory = host_factory or (
            lambda: ProviderHost(project=self.project, cwd=self.project_dir)
        )
        self.logger = logging.getLogger(f"{__name__}.program")

    @property
    def stack_urn(self) -> str:
        """The root stack resource's URN."""
        project, stack = self.project, self.stack
        return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"

    def urn(self, type_: str, name: str) -> str:
        """The URN of a top-level resource of this stack."""
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def checkpoint(self) -> Checkpoint:
        """The saved state."""
        return Checkpoint.load(self.state_path)

    # public operations -----------------------------------------------------------------------

    def up(self, *, raise_on_error: bool = True) -> RunResult:
        """``pulumi up``: run the program, apply its steps, delete what it no longer declares."""
        return self._operation("up", raise_on_error)

    def preview(self, *, raise_on_error: bool = True) -> RunResult:
        """``pulumi preview``: Check and Diff only; steps are the plan, nothing is saved."""
        return self._operation("preview", raise_on_error)

    def refresh(self, *, raise_on_error: bool = True) -> RunResult:
        """``pulumi refresh``: Read every saved resource; drop the ones that are gone."""
        return self._operation("refresh", raise_on_error)

    def destroy(self, *, raise_on_error: bool = True) -> RunResult:
        """``pulumi destroy``: Delete everything, dependents first."""
        return self._operation("destroy", raise_on_error)

    # internals -------------------------------------------------------------------------------

    def _operation(self, operation: str, raise_on_error: bool) -> RunResult:
        started = time.monotonic()
        result = RunResult(operation)
        own_host = self.host is None
        host = self.host_factory().start() if own_host else self.host
        assert host is not None
        first_call = len(host.calls)
        log_mark = host.stderr_mark()
        try:
            host.configure(provider_config(self.stack_config, self.project))
            checkpoint = self.checkpoint()
            deployment = _Deployment(
                self, host, checkpoint, preview=operation == "preview", result=result
            )
            if operation in ("up", "preview"):
                self._up(deployment)
            elif operation == "refresh":
                self._refresh(deployment)
            else:
                self._destroy(deployment)
        finally:
            result.calls = host.calls[first_call:]
            if own_host:
                host.stop()
            result.host_log = host.stderr_since(log_mark)
            result.duration = time.monotonic() - started
        if result.errors and raise_on_error:
            raise EngineError(result)
        return result

    def _up(self, deployment: _Deployment) -> None:
        old = deployment.old
        if not deployment.preview:
            # Deletes left pending by an earlier failed run go first, as in the engine.
            pending = [r for r in old.resources if r.pending_delete]
            deployment.delete_many(pending, {id(r) for r in pending})
        program_error = self._run_program(deployment)
        if program_error is not None:
            deployment.error(self.stack_urn, "program", *program_error)
        result = deployment.result
        if not result.errors:
            removed = [
                r
                for r in old.resources
                if not r.pending_delete
                and r.urn not in deployment.registered
                and id(r) not in deployment.gone
            ]
            with deployment.lock:
                replaced = list(deployment.replaced)
            deployment.delete_many(removed + replaced, {id(r) for r in replaced})
        if deployment.stack_outputs is not None:
            result.outputs = deployment.stack_outputs
        if deployment.preview:
            return
        outputs = old.outputs
        if not result.errors and deployment.stack_outputs is not None:
            outputs = deployment.stack_outputs
        Checkpoint(deployment.final_resources(), outputs).save(self.state_path)

    def _run_program(self, deployment: _Deployment) -> tuple[str, str] | None:
        """Run the program in its own process, as the CLI's language host does.

        The program reaches the engine through a ResourceMonitor and an Engine gRPC service
        served here for the run.  Returns None, or the program's failure as (message,
        traceback)."""
        monitor = _Monitor(deployment, self.project, self.stack)
        # Registrations wait on the parallelism semaphore inside their RPC: leave plenty of
        # workers so they never starve the other calls (outputs, logs, shutdown).
        workers = max(64, self.parallelism * 4 + 32)
        server = grpc.server(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor"))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorServicer(monitor), server)
        engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(self.logger), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        address = f"127.0.0.1:{port}"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        env["PYTHONUNBUFFERED"] = "1"
        try:
            with tempfile.TemporaryDirectory(prefix="enginedouble-") as tmp:
                error_file = Path(tmp) / "error.json"
                command = [
                    sys.executable,
                    "-m",
                    "plume_testkit.enginedouble.program_runner",
                    f"--monitor={address}",
                    f"--engine={address}",
                    f"--project={self.project}",
                    f"--stack={self.stack}",
                    f"--parallel={self.parallelism}",
                    f"--error-file={error_file}",
                    *(["--dry-run"] if deployment.preview else []),
                    str(self.program),
                ]
                process = subprocess.run(
                    command,
                    input=json.dumps(provider_config(self.stack_config, self.project)),
                    capture_output=True,
                    text=True,
                    cwd=self.project_dir,
                    env=env,
                    check=False,
                )
                sys.stdout.write(process.stdout)
                sys.stderr.write(process.stderr)
                if process.returncode == 0:
                    return None
                if error_file.exists():
                    failure = json.loads(error_file.read_text())
                    return str(failure["message"]), str(failure["details"])
                return (
                    f"the program's process exited with status {process.returncode}",
                    process.stderr,
                )
        finally:
            server.stop(grace=None)

    def _refresh(self, deployment: _Deployment) -> None:
        old = deployment.old
        host = deployment.host

        def refresh_one(resource: ResourceState) -> None:
            read = host.read(resource.urn, resource.id, resource.outputs, resource.inputs)
            if not read.id:
                deployment.mark_gone(resource)
                deployment.step("delete", resource.urn)
                return
            inputs = read.inputs if read.inputs is not None else resource.inputs
            changed = read.outs != resource.outputs  # the engine reports output drift
            resource.id, resource.outputs, resource.inputs = read.id, read.outs, inputs
            deployment.step("update" if changed else "same", resource.urn)

        targets = [r for r in old.resources if r.custom and not r.pending_delete]
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            futures = {pool.submit(refresh_one, r): r for r in targets}
            for future, resource in futures.items():
                try:
                    future.result()
                except ProviderError as err:
                    deployment.error(resource.urn, "read", err.message)
        kept = [r for r in old.resources if id(r) not in deployment.gone]
        Checkpoint(_ordered(kept), old.outputs).save(self.state_path)

    def _destroy(self, deployment: _Deployment) -> None:
        old = deployment.old
        deployment.delete_many(list(old.resources))
        kept = [r for r in old.resources if id(r) not in deployment.gone]
        Checkpoint(_ordered(kept), old.outputs if kept else {}).save(self.state_path)
