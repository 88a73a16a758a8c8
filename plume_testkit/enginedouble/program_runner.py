"""Run a Pulumi program in its own process, as the Pulumi language host does (test-only).

``EngineDouble`` starts ``python -m plume_testkit.enginedouble.program_runner`` for every ``up`` and
``preview``: the program talks to the engine double's ResourceMonitor and Engine services over
gRPC, exactly as a program started by the CLI talks to the CLI's.  The stack config arrives as
JSON on stdin (the namespaced, JSON-string values of ``provider_config``).  A program failure
is written as JSON (``{"message": ..., "details": ...}``) to ``--error-file`` and the runner
exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

__all__ = ["main", "program_error"]


def program_error(exn: BaseException) -> tuple[str, str]:
    """The program's failure as the CLI reports it (message, traceback)."""
    from pulumi.errors import RunError

    details = "".join(traceback.format_exception(exn))
    if isinstance(exn, RunError):
        return str(exn), details
    text = str(exn) or type(exn).__name__
    return f"Program failed with an unhandled exception: {type(exn).__name__}: {text}", details


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--monitor", required=True, help="host:port of the ResourceMonitor")
    parser.add_argument("--engine", required=True, help="host:port of the Engine service")
    parser.add_argument("--project", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--organization", default="organization")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--error-file", required=True, type=Path)
    parser.add_argument("program", type=Path, help="the program's __main__.py")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the program; exit 0 on success, 1 after writing the failure to ``--error-file``."""
    args = _parse(argv)
    # A failing program leaves SDK futures nobody awaits; the language host silences asyncio.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import Settings, configure
    from pulumi.runtime.stack import run_in_stack

    program = args.program.resolve()
    project_dir = program.parent
    configure(
        Settings(
            monitor=args.monitor,
            engine=args.engine,
            project=args.project,
            stack=args.stack,
            parallel=args.parallel,
            dry_run=args.dry_run,
            organization=args.organization,
            root_directory=str(project_dir),
        )
    )
    set_all_config(json.loads(sys.stdin.read() or "{}"), [])
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    def run_program() -> None:
        runpy.run_path(str(program), run_name="__main__")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(8, args.parallel * 4)))
    status = 0
    try:
        loop.run_until_complete(run_in_stack(run_program))
    except Exception as exn:  # noqa: BLE001 - the program's own failure is the run's error
        message, details = program_error(exn)
        args.error_file.write_text(json.dumps({"message": message, "details": details}))
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: SDK threads a failure left blocked must not delay the exit.
    os._exit(status)


if __name__ == "__main__":
    main()
