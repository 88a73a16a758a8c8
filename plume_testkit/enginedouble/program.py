"""Run the Pulumi program of one deployment in its own process, as the CLI's language host does:
the program reaches the engine double through a ResourceMonitor and an Engine gRPC service
served here for the run (``program_runner`` is the process's side).

The program reads its stack's state with ``pulumi stack export`` before it declares anything
(``plume_provider.fleet.stack_state``): the double puts a ``pulumi`` of its own first on the
program's PATH, which prints the checkpoint as the run found it in the export's shape."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from pulumi.runtime.proto import engine_pb2_grpc, resource_pb2_grpc

from .deployment import Deployment
from .environment import python_env
from .monitor import EngineServicer, Monitor, MonitorServicer, stack_urn

__all__ = ["run_program"]


def run_program(
    deployment: Deployment,
    program: Path,
    config: Mapping[str, str],
    *,
    project: str,
    stack: str,
    logger: logging.Logger,
) -> tuple[str, str] | None:
    """Run ``program`` (its directory the working directory) with the namespaced stack
    ``config``; None, or the program's failure as (message, traceback)."""
    monitor = Monitor(deployment, project, stack)
    # Registrations wait on the parallelism semaphore inside their RPC: leave plenty of
    # workers so they never starve the other calls (outputs, logs, shutdown).
    workers = max(64, deployment.parallelism * 4 + 32)
    server = grpc.server(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="monitor"))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(MonitorServicer(monitor), server)
    engine_pb2_grpc.add_EngineServicer_to_server(EngineServicer(logger), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    address = f"127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="enginedouble-") as tmp:
            error_file = Path(tmp) / "error.json"
            env = python_env()
            env["PATH"] = f"{_export_shim(Path(tmp), deployment, project, stack)}{os.pathsep}"
            env["PATH"] += os.environ.get("PATH", "")
            command = [
                sys.executable,
                "-m",
                "plume_testkit.enginedouble.program_runner",
                f"--monitor={address}",
                f"--engine={address}",
                f"--project={project}",
                f"--stack={stack}",
                f"--parallel={deployment.parallelism}",
                f"--error-file={error_file}",
                *(["--dry-run"] if deployment.preview else []),
                str(program),
            ]
            process = subprocess.run(
                command,
                input=json.dumps(dict(config)),
                capture_output=True,
                text=True,
                cwd=program.parent,
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


def _export_shim(directory: Path, deployment: Deployment, project: str, stack: str) -> Path:
    """A directory holding a ``pulumi`` whose ``stack export`` prints the deployment's state as
    the run found it (the resources it has not deleted yet, and the stack outputs)."""
    resources = [
        {
            "urn": r.urn,
            "type": r.type,
            "protect": r.protect,
            "outputs": r.outputs,
            **({"delete": True} if r.pending_delete else {}),
        }
        for r in deployment.old.resources
        if id(r) not in deployment.gone
    ]
    root = {"urn": stack_urn(project, stack), "type": "pulumi:pulumi:Stack"}
    document = {
        "version": 3,
        "deployment": {"resources": [{**root, "outputs": deployment.old.outputs}, *resources]},
    }
    export = directory / "export.json"
    export.write_text(json.dumps(document))
    shim_dir = directory / "bin"
    shim_dir.mkdir()
    shim = shim_dir / "pulumi"
    shim.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "stack export" ] || { echo "engine double: only stack export" >&2; exit 2; }\n'
        f"exec cat {shlex.quote(str(export))}\n"
    )
    shim.chmod(0o755)
    return shim_dir
