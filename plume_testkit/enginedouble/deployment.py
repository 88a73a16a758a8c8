"""One run's step generation, as the engine does it: each registration is checked and diffed
against the checkpoint (a registration at a time), and the resulting create, update, replace,
import or delete runs in one of ``parallelism`` slots.

Semantics mirror the engine's closely enough for lifecycle tests: Check, then Diff against the
checkpoint, then Create / Update / Replace (delete-before-replace, deleting the dependents that
must be replaced first, or create-before-delete) / Same, imports via Read + Diff, deletes in
reverse dependency order, ``protect`` and ``retainOnDelete``, and preview (Check and Diff only).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from pulumi.runtime.proto import resource_pb2

from .checkpoint import Checkpoint, ResourceState, ordered
from .host import ProviderError, ProviderHost
from .results import ResourceError, RunResult
from .wire import PROVIDER_KEY, UNKNOWN, from_struct, to_struct

__all__ = ["Deployment", "StepError"]


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


class Deployment:
    """The state of one run; the monitor calls ``register`` from the SDK's threads."""

    def __init__(
        self,
        parallelism: int,
        host: ProviderHost,
        checkpoint: Checkpoint,
        *,
        preview: bool,
        result: RunResult,
    ) -> None:
        self.parallelism = parallelism
        self.host = host
        self.preview = preview
        self.result = result
        self.old = checkpoint
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(parallelism)
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
        for dependent in reversed(ordered(dependents)):
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
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
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
        return ordered([*self.new, *kept])
