"""`plume-fleet rollout VERB`: `preview`, `up`, `refresh` or `destroy` over many stacks, at most
K at a time, with one live view, a results table and CSV, and an exit code that says whether
every stack succeeded.

Ctrl-C stops starting stacks; each running one gets one SIGINT, the CLI's graceful cancel (it
finishes its steps in flight, saves the state, releases the lock); the command then says which
stacks to rerun. Across machines, `--only` runs a subset (one CI job per subset), all sharing
the rate budget (`plume:rateLimitScope`) and the team backend.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import Any, Final, cast

from plume_provider.client.errors import PlumeError
from plume_provider.client.extras import install_command, missing
from plume_provider.fleet.stack_state import find_pulumi_cli
from plume_provider.rollout.budget_view import budget_probe
from plume_provider.rollout.runner import VERBS, SessionCommand, StackProgress, Verb, run_stack
from plume_provider.rollout.selection import StackTarget, select_stacks
from plume_provider.rollout.view import fleet_line, stack_table, write_results

__all__ = ["ROLLOUT_EXTRA", "build_parser", "main"]

ROLLOUT_EXTRA: Final = install_command("rollout")
_REFRESH_S: Final = 0.5
_LOG_WIDTH: Final = 120
"""Columns of the tables written to a log or CI (rich would assume 80)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plume-fleet rollout",
        description=(
            "Run preview, up, refresh or destroy over many stacks of the project, at most K at "
            "a time, on the Pulumi Automation API, with a live view and a CSV of the results."
        ),
    )
    parser.add_argument("verb", choices=VERBS)
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--stacks", nargs="+", default=[], metavar="GLOB", help="stack names or globs ('pilot-*')"
    )
    which.add_argument(
        "--fleet-file", type=Path, help="the stacks of every shard of this fleet file"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated stacks of the selection (a CI matrix job)"
    )
    parser.add_argument(
        "-k", "--parallel", type=int, default=2, help="stacks at a time (default 2)"
    )
    parser.add_argument(
        "--project", type=Path, default=Path.cwd(), help="project directory (default: .)"
    )
    parser.add_argument("--csv", type=Path, help="per-stack results (default: rollout-<verb>.csv)")
    parser.add_argument("--no-live", action="store_true", help="no live view (logs and CI)")
    return parser


def _command() -> SessionCommand:
    cli = find_pulumi_cli()
    root = str(cli.parent.parent) if cli is not None and cli.parent.name == "bin" else None
    return SessionCommand(root=root)


def _stack_names(project: Path, command: SessionCommand) -> list[str]:
    from pulumi import automation as auto

    workspace = auto.LocalWorkspace(work_dir=str(project), pulumi_command=command)
    return [summary.name for summary in workspace.list_stacks()]


class _Stop:
    """The first Ctrl-C: start no more stacks, one SIGINT to the running CLIs."""

    def __init__(self, command: SessionCommand) -> None:
        self.command = command
        self.requested = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        first = not self.requested
        self.requested = True
        sent = self.command.interrupt()
        if first:
            print(
                f"\nstopping: no more stacks start; {sent} running stack(s) finish their "
                "current steps and cancel (Ctrl-C again changes nothing: wait)",
                file=sys.stderr,
            )


def _rerun(args: argparse.Namespace, names: Sequence[str]) -> str:
    """The command that runs `names` again with the same selection."""
    if args.fleet_file:
        which = f"--fleet-file {args.fleet_file}"
    else:
        which = f"--stacks {' '.join(args.stacks)}" if args.stacks else ""
    parts = (
        "plume-fleet rollout",
        args.verb,
        which,
        f"-k {args.parallel}",
        f"--only {','.join(names)}",
    )
    return " ".join(part for part in parts if part)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if missing("rich"):
        print(f"plume-fleet rollout needs rich (its live view): {ROLLOUT_EXTRA}", file=sys.stderr)
        return 2
    if args.parallel < 1:
        print("plume-fleet rollout: -k must be 1 or more", file=sys.stderr)
        return 2
    project: Path = args.project.resolve()
    if not (project / "Pulumi.yaml").is_file():
        print(f"plume-fleet rollout: {project} has no Pulumi.yaml: pass --project", file=sys.stderr)
        return 2
    try:
        command = _command()
        targets = select_stacks(
            project,
            _stack_names(project, command),
            patterns=args.stacks,
            fleet_file=args.fleet_file,
            only=args.only.split(","),
        )
    except PlumeError as err:
        print(f"plume-fleet rollout: {err}", file=sys.stderr)
        return 2
    verb = cast(Verb, args.verb)
    stacks = _run(verb, targets, project, command, args)
    results: Path = args.csv or Path(f"rollout-{verb}.csv")
    write_results(results, verb, stacks)
    return _report(args, verb, stacks, results)


def _run(
    verb: Verb,
    targets: Sequence[StackTarget],
    project: Path,
    command: SessionCommand,
    args: argparse.Namespace,
) -> list[StackProgress]:
    from rich.console import Console
    from rich.live import Live

    stacks = [StackProgress(t.name, t.customers) for t in targets]
    stop = _Stop(command)
    previous = signal.signal(signal.SIGINT, stop)
    env = {k: v for k, v in os.environ.items() if k.startswith(("PULUMI_", "PLUME_"))}
    probe, rate = budget_probe(project, targets)
    started = time.monotonic()
    console = Console(width=None if sys.stdout.isatty() else _LOG_WIDTH)
    waiting = list(stacks)
    running: dict[Future[None], StackProgress] = {}

    def caption() -> str:
        rate.sample(probe())
        return fleet_line(stacks, time.monotonic() - started, rate)

    live: Any = (
        Live(stack_table(verb, stacks, caption()), console=console, refresh_per_second=2)
        if not args.no_live
        else None
    )
    try:
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            if live is not None:
                live.start()
            while waiting or running:
                while waiting and not stop.requested and len(running) < args.parallel:
                    progress = waiting.pop(0)
                    running[pool.submit(run_stack, verb, progress, project, command, env)] = (
                        progress
                    )
                    if live is None:
                        print(f"{progress.name}: {verb} started", flush=True)
                if stop.requested:
                    for progress in waiting:
                        progress.state = "not started"
                    waiting.clear()
                if running:
                    finished, _ = wait(running, timeout=_REFRESH_S, return_when=FIRST_COMPLETED)
                    for future in finished:
                        progress = running.pop(future)
                        future.result()
                        if live is None:
                            print(f"{progress.name}: {progress.state} {progress.error}".rstrip())
                if live is not None:
                    live.update(stack_table(verb, stacks, caption()))
    finally:
        if live is not None:
            live.update(stack_table(verb, stacks, caption()))
            live.stop()
        signal.signal(signal.SIGINT, previous)
    if stop.requested:
        for progress in stacks:
            if progress.state == "failed":
                progress.state = "interrupted"
    if args.no_live:
        console.print(stack_table(verb, stacks, caption()))
    return stacks


def _report(
    args: argparse.Namespace, verb: Verb, stacks: Sequence[StackProgress], results: Path
) -> int:
    not_done = [s.name for s in stacks if s.state != "done"]
    print(f"results: {results}", flush=True)
    if not not_done:
        print(f"rollout {verb}: {len(stacks)} stack(s) done")
        return 0
    failed = [s for s in stacks if s.state == "failed"]
    print(
        f"rollout {verb}: {len(stacks) - len(not_done)} done, {len(failed)} failed, "
        f"{len(not_done) - len(failed)} interrupted or not started; rerun: "
        f"{_rerun(args, not_done)}",
        file=sys.stderr,
    )
    return 130 if any(s.state in ("interrupted", "not started") for s in stacks) else 1
