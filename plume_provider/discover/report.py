"""Discover's reconciliation report: a CSV (safe in a spreadsheet) and a table on the terminal.

The terminal table needs `rich` (the `discover` extra); `command` checks it is there before any
call, so a missing extra is one line, not a traceback after the look-ups.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from plume_provider.discover.reconcile import (
    DIFFERS,
    MATCHES,
    NEW,
    NICKNAME_DIFFERS,
    NODE_ELSEWHERE,
    NODE_NOT_IN_CRM,
    NODE_NOT_IN_INVENTORY,
    NODE_TO_CLAIM,
    REPORT_COLUMNS,
    Discovery,
    Finding,
    customer_status,
)
from plume_provider.fleet.cells import spreadsheet_text

__all__ = ["DETAILS_SHOWN", "print_report", "write_report"]

DETAILS_SHOWN: Final = 20
"""Rows of detail printed on the terminal; the CSV has them all."""


def write_report(path: Path, findings: Sequence[Finding]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows([spreadsheet_text(cell) for cell in f.row()] for f in findings)


def print_report(discovery: Discovery, out_path: Path, report: Path, journal: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    per_customer = customer_status(discovery)
    counts = discovery.counts()
    table = Table(title="Reconciliation with Plume")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_column("in the fleet file")
    for label, number, meaning in (
        ("customers: exist and match", per_customer[MATCHES], "importId, protect"),
        ("customers: exist and differ", per_customer[DIFFERS], "adopt (PATCH), protect"),
        ("customers: not in Plume", per_customer[NEW], "registered by up"),
        ("nodes: claimed at another customer", counts[NODE_ELSEWHERE], "left out"),
        ("nodes: not in inventory", counts[NODE_NOT_IN_INVENTORY], "left out"),
        ("nodes: claimed, not in the CRM", counts[NODE_NOT_IN_CRM], "kept, flagged"),
        ("nodes: to claim", counts[NODE_TO_CLAIM], "claimed by up"),
        ("nodes: nickname differs", counts[NICKNAME_DIFFERS], "renamed by up"),
    ):
        table.add_row(label, str(number), meaning)
    console.print(table)
    details = [f for f in discovery.findings if f.status not in (MATCHES, NEW, NODE_TO_CLAIM)]
    for finding in details[:DETAILS_SHOWN]:
        what = f" {finding.serial_number}" if finding.serial_number else ""
        change = (
            f" {finding.field}: live {finding.live!r}, CRM {finding.crm!r}"
            if finding.field and finding.crm
            else ""
        )
        console.print(
            f"  {finding.account_id}{what}: {finding.status}{change}; {finding.detail}",
            markup=False,
            highlight=False,
        )
    if len(details) > DETAILS_SHOWN:
        console.print(f"  ... {len(details) - DETAILS_SHOWN} more in {report}", markup=False)
    console.print(
        f"fleet file: {out_path}; report: {report}; API calls: {discovery.calls_made} made, "
        f"{discovery.calls_replayed} from the journal {journal}",
        markup=False,
        highlight=False,
    )
