"""`plume-fleet discover CRM -o FLEET`: the command line around the look-ups.

Refuses before any call: a CRM file with problems (each named `file:row:column`), missing
credentials, a journal made for other settings or with a malformed line, and a missing `rich`
(the `discover` extra), each in terms of what to do next.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from plume_provider.client import PlumeClient
from plume_provider.client.errors import JournalError, PlumeError
from plume_provider.client.extras import install_command, missing
from plume_provider.client.settings import PlumeSettings
from plume_provider.discover.journal import Journal, JournalBinding
from plume_provider.discover.lookups import SHAPES, Lookups
from plume_provider.discover.reconcile import Discovery, discover
from plume_provider.discover.report import print_report, write_report
from plume_provider.fleet import CustomerSpec, FleetConfigError, load_fleet, write_fleet_file

__all__ = ["DISCOVER_EXTRA", "build_parser", "main"]

DISCOVER_EXTRA: Final = install_command("discover")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plume-fleet discover",
        description=(
            "Look up a CRM export's customers and nodes in Plume and write a fleet file "
            "(importId / adopt, protect) and a reconciliation report. Credentials come from "
            "PLUME_* environment variables. Resumable: rerun after an interruption."
        ),
    )
    parser.add_argument("crm", type=Path, help="the CRM export: a fleet file (.csv, .yaml, .json)")
    parser.add_argument(
        "-o", "--out", type=Path, required=True, help="the fleet file to write (.csv/.yaml/.json)"
    )
    parser.add_argument("--report", type=Path, help="report CSV (default: <out>.report.csv)")
    parser.add_argument(
        "--journal",
        type=Path,
        help="journal (default: <out>.journal.jsonl); bound to the API URL, partner and CRM file",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (for logs and CI)"
    )
    return parser


def _to_continue(journal: Journal) -> str:
    """What to do after a stopped run: the journal makes a rerun pick up where it stopped."""
    return (
        "rerun the same command to continue: the "
        f"{len(journal.answers)} answers so far are in {journal.path}"
    )


def _load_crm(crm_path: Path) -> list[CustomerSpec] | None:
    """The CRM's customers, every shard of it (the fleet file written keeps each customer's
    shard), or None after printing its problems. The file must be a regular file in its own
    directory once links are resolved; problems name it by its absolute path."""
    crm_file = crm_path.absolute()
    try:
        fleet = load_fleet({"fleetFile": str(crm_file)}, root=crm_file.parent, every_shard=True)
        return fleet.customers
    except FleetConfigError as err:
        print(
            f"the CRM file {crm_path} has {len(err.problems)} problem(s); nothing was called:",
            file=sys.stderr,
        )
        for problem in err.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if missing("rich"):
        print(
            f"plume-fleet discover needs rich (its report tables): {DISCOVER_EXTRA}",
            file=sys.stderr,
        )
        return 2
    out: Path = args.out
    report: Path = args.report or out.with_name(out.name + ".report.csv")
    journal_path: Path = args.journal or out.with_name(out.name + ".journal.jsonl")
    crm = _load_crm(args.crm)
    if crm is None:
        return 2
    try:
        settings = PlumeSettings()
        client = PlumeClient(settings)
    except PlumeError as err:
        print(f"plume-fleet discover: {err}", file=sys.stderr)
        return 2
    binding = JournalBinding(
        settings.api_url, client.partner_id or "", str(args.crm.resolve(strict=False))
    )
    try:
        journal = Journal(journal_path, binding, SHAPES)
    except JournalError as err:
        client.close()
        print(f"plume-fleet discover: {err}; nothing was called", file=sys.stderr)
        return 2
    try:
        discovery = _run(crm, Lookups(client, journal), progress=not args.no_progress)
    except KeyboardInterrupt:
        interrupted = f"interrupted after {journal.made} call(s)"
        print(f"\n{interrupted}; {_to_continue(journal)}", file=sys.stderr)
        return 130
    except PlumeError as err:
        print(f"plume-fleet discover stopped: {err}\n{_to_continue(journal)}", file=sys.stderr)
        return 1
    finally:
        journal.close()
        client.close()
    write_fleet_file(out, discovery.customers)
    write_report(report, discovery.findings)
    print_report(discovery, out, report, journal_path)
    return 0


def _run(crm: Sequence[CustomerSpec], lookups: Lookups, *, progress: bool) -> Discovery:
    if not progress:
        return discover(crm, lookups)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task("looking up customers", total=len(crm))
        return discover(crm, lookups, progress=lambda n: bar.advance(task, n))


if __name__ == "__main__":
    raise SystemExit(main())
