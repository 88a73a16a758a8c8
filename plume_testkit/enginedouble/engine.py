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

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .checkpoint import Checkpoint, ResourceState, ordered
from .config import load_project, load_stack_config, provider_config
from .deployment import Deployment
from .host import ProviderError, ProviderHost
from .monitor import stack_urn
from .program import run_program
from .results import EngineError, ResourceError, RunResult

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
        return stack_urn(self.project, self.stack)

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
            deployment = Deployment(
                self.parallelism, host, checkpoint, preview=operation == "preview", result=result
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

    def _up(self, deployment: Deployment) -> None:
        old = deployment.old
        if not deployment.preview:
            # Deletes left pending by an earlier failed run go first, as in the engine.
            pending = [r for r in old.resources if r.pending_delete]
            deployment.delete_many(pending, {id(r) for r in pending})
        program_error = run_program(
            deployment,
            self.program,
            provider_config(self.stack_config, self.project),
            project=self.project,
            stack=self.stack,
            logger=self.logger,
        )
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

    def _refresh(self, deployment: Deployment) -> None:
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
        Checkpoint(ordered(kept), old.outputs).save(self.state_path)

    def _destroy(self, deployment: Deployment) -> None:
        old = deployment.old
        deployment.delete_many(list(old.resources))
        kept = [r for r in old.resources if id(r) not in deployment.gone]
        Checkpoint(ordered(kept), old.outputs if kept else {}).save(self.state_path)
