"""`plume-fleet discover`: bring an existing fleet under code.

Given a CRM export (a fleet file: `fleet.file` documents the columns), look each accountId up in
Plume and write

* a fleet file for `plume-fleet:fleetFile`: every CRM customer, in CRM order;
  * found in Plume, every CRM value equal to the live one: `importId` (the provider imports it:
    0 register calls, and `up` changes nothing);
  * found, name or email different: `adopt: true` with the CRM's values (the provider takes it
    over by accountId and PATCHes exactly the differing fields). `importId` would refuse such a
    customer (its declared values must match the live ones), and writing the live values would
    leave the CRM's corrections unapplied;
  * both with `protect: true` (a discovered customer is a real household: `destroy` refuses it
    until the operator lifts protect), and the nodes claimed at its location: the CRM's
    nickname where the CRM gives one (`up` renames), else the live one; nodes claimed there that
    the CRM does not list are kept too (removing them from code would unclaim them) and flagged;
  * not in Plume: the CRM's values, no `importId` (`up` registers it);
  * a CRM node claimed at another customer, or not in the partner's inventory, is left out
    (`up` would fail on it) and reported;
* a reconciliation report, on the terminal and as CSV (`--report`, default `<out>.report.csv`).

API calls (the minimum that decides each case), per CRM customer:

* in Plume: 3 — the search by accountId (name, email, location ids), its locations (the
  profile: taking a customer over refuses a profile other than the live one, so the fleet file
  carries the live profile when the CRM has none) and the node list of its first location; +1
  node lookup per CRM serial not claimed there;
* not in Plume: 1 — the search (404); +1 node lookup per CRM serial.

The calls go through `PlumeClient`, so its rate limit (`PLUME_REQUESTS_PER_SECOND`, default 6 a
second) and retries apply. Every answer is appended to a journal (`--journal`, default
`<out>.journal.jsonl`, one JSON line per call, flushed and synced) before it is used; a rerun after
Ctrl-C or a failure reads the journal and repeats no answered call. Delete the journal to look
everything up afresh.

Credentials and the API location come from the `PLUME_*` environment (`PlumeSettings`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from plume_provider.client import PlumeClient
from plume_provider.client.errors import NotFoundError, PermissionDeniedError, PlumeError
from plume_provider.client.settings import PlumeSettings
from plume_provider.fleet import CustomerSpec, FleetConfigError, load_fleet, write_fleet_file
from plume_provider.fleet.cells import spreadsheet_text
from plume_provider.resources.customer import CUSTOMER_DIFF

__all__ = ["Discovery", "Finding", "Journal", "discover", "main"]

# Report statuses, one per row of the reconciliation report.
MATCHES = "exists-matches"
DIFFERS = "exists-differs"
NEW = "not-in-plume"
NODE_ELSEWHERE = "node-claimed-elsewhere"
NODE_NOT_IN_INVENTORY = "node-not-in-inventory"
NODE_NOT_IN_CRM = "node-not-in-crm"
NODE_TO_CLAIM = "node-to-claim"
NICKNAME_DIFFERS = "nickname-differs"
REPORT_COLUMNS = ("accountId", "status", "serialNumber", "field", "live", "crm", "detail")


class Journal:
    """Answered API calls, one JSON line each: `{"call": ..., "key": ..., "answer": ...}`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[tuple[str, str], Any] = {}
        self.replayed = 0
        self.made = 0
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash: that call is made again
                self.answers[(entry["call"], entry["key"])] = entry["answer"]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: TextIO = path.open("a", encoding="utf-8")

    def answer(self, call: str, key: str, make: Callable[[], Any]) -> Any:
        """The journaled answer of `call(key)`, else make the call and journal its answer."""
        if (call, key) in self.answers:
            self.replayed += 1
            return self.answers[(call, key)]
        value = make()
        self.made += 1
        self._out.write(json.dumps({"call": call, "key": key, "answer": value}) + "\n")
        self._out.flush()
        os.fsync(self._out.fileno())
        self.answers[(call, key)] = value
        return value

    def close(self) -> None:
        self._out.close()


@dataclass
class Finding:
    """One row of the reconciliation report."""

    account_id: str
    status: str
    serial_number: str = ""
    field: str = ""
    live: str = ""
    crm: str = ""
    detail: str = ""

    def row(self) -> list[str]:
        return [
            self.account_id,
            self.status,
            self.serial_number,
            self.field,
            self.live,
            self.crm,
            self.detail,
        ]


@dataclass
class Discovery:
    """What discover found: the fleet to write, the report, and the calls it took."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    calls_made: int = 0
    calls_replayed: int = 0

    def counts(self) -> Counter[str]:
        return Counter(f.status for f in self.findings)


class _Lookups:
    """The four look-ups, each through the journal, answers as plain JSON."""

    def __init__(self, client: PlumeClient, journal: Journal) -> None:
        self.client = client
        self.journal = journal

    def search(self, account_id: str) -> dict[str, Any] | None:
        def call() -> dict[str, Any] | None:
            hits = self.client.find_customers_by_account_id(account_id)
            if not hits:
                return None
            hit = hits[0]
            return {
                "id": hit.id,
                "name": hit.name,
                "email": hit.email,
                "locationIds": hit.location_ids,
            }

        found: dict[str, Any] | None = self.journal.answer("search", account_id, call)
        return found

    def profile(self, customer_id: str) -> str | None:
        def call() -> str | None:
            locations = self.client.list_locations(customer_id)
            return locations[0].profile if locations else None

        profile: str | None = self.journal.answer("locations", customer_id, call)
        return profile

    def nodes(self, customer_id: str, location_id: str) -> list[dict[str, Any]]:
        def call() -> list[dict[str, Any]]:
            return [
                {"serialNumber": n.serial_number, "nickname": n.nickname}
                for n in self.client.list_nodes(customer_id, location_id)
            ]

        nodes: list[dict[str, Any]] = self.journal.answer(
            "nodes", f"{customer_id}/{location_id}", call
        )
        return nodes

    def lookup(self, serial: str) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            try:
                found = self.client.lookup_node(serial)
            except NotFoundError:
                return {"inventory": False}
            except PermissionDeniedError:
                return {"inventory": False, "otherPartner": True}
            return {
                "inventory": True,
                "customerId": found.customer_id,
                "locationId": found.location_id,
            }

        where: dict[str, Any] = self.journal.answer("lookup", serial, call)
        return where


def _crm_entry(spec: CustomerSpec) -> dict[str, Any]:
    """The CRM customer as a fleet-file mapping (defaults left out)."""
    entry = spec.model_dump(by_alias=True, exclude_defaults=True, exclude={"nodes"})
    entry["accountId"] = spec.account_id
    return entry


def _node_findings(
    spec: CustomerSpec,
    lookups: _Lookups,
    claimed_here: dict[str, str | None],
    findings: list[Finding],
) -> list[dict[str, Any]]:
    """The fleet's nodes of one customer: the CRM's (those that can be claimed or are claimed
    here) and then those claimed here that the CRM does not list."""
    nodes: list[dict[str, Any]] = []
    account = spec.account_id
    for node in spec.nodes:
        serial = node.serial_number
        if serial in claimed_here:
            live = claimed_here[serial]
            nickname = node.nickname if node.nickname is not None else live
            if node.nickname is not None and node.nickname != live:
                findings.append(
                    Finding(
                        account,
                        NICKNAME_DIFFERS,
                        serial,
                        "nickname",
                        live or "",
                        node.nickname,
                        "up renames it",
                    )
                )
            nodes.append(_node(serial, nickname))
            continue
        where = lookups.lookup(serial)
        if not where["inventory"]:
            detail = (
                "in another partner's inventory" if where.get("otherPartner") else "unknown serial"
            )
            findings.append(
                Finding(account, NODE_NOT_IN_INVENTORY, serial, detail=f"{detail}; left out")
            )
        elif where.get("customerId"):
            findings.append(
                Finding(
                    account,
                    NODE_ELSEWHERE,
                    serial,
                    detail=(
                        f"claimed at customer {where['customerId']} (location "
                        f"{where['locationId']}); left out: unclaim it there, then add it"
                    ),
                )
            )
        else:
            findings.append(Finding(account, NODE_TO_CLAIM, serial, detail="up claims it"))
            nodes.append(_node(serial, node.nickname))
    declared = {n.serial_number for n in spec.nodes}
    for serial, live in claimed_here.items():
        if serial not in declared:
            findings.append(
                Finding(
                    account,
                    NODE_NOT_IN_CRM,
                    serial,
                    "nickname",
                    live or "",
                    detail="claimed in Plume, not listed in the CRM; kept in the fleet",
                )
            )
            nodes.append(_node(serial, live))
    return nodes


def _node(serial: str, nickname: str | None) -> dict[str, Any]:
    return (
        {"serialNumber": serial}
        if nickname is None
        else {"serialNumber": serial, "nickname": nickname}
    )


def _reconcile(spec: CustomerSpec, lookups: _Lookups, discovery: Discovery) -> None:
    account = spec.account_id
    findings = discovery.findings
    entry = _crm_entry(spec)
    live = lookups.search(account)
    if live is None:
        findings.append(Finding(account, NEW, detail="up registers it"))
        entry.pop("importId", None)
        entry["nodes"] = _node_findings(spec, lookups, {}, findings)
        discovery.customers.append(_clean(entry))
        return
    customer_id: str = live["id"]
    differences: list[Finding] = [
        Finding(account, DIFFERS, "", key, str(live.get(key) or ""), str(wanted), "up patches it")
        for key, wanted in (("name", spec.name), ("email", spec.email))
        if wanted is not None and not CUSTOMER_DIFF.same(key, live.get(key), wanted)
    ]
    profile = lookups.profile(customer_id)
    if profile and "profile" not in spec.model_fields_set:
        entry["profile"] = profile  # a take-over refuses another profile than the live one
    elif profile and profile != spec.profile:
        differences.append(
            Finding(
                account,
                DIFFERS,
                "",
                "profile",
                profile,
                spec.profile,
                "kept live: a profile change replaces the customer",
            )
        )
        entry["profile"] = profile
    location_ids: list[str] = live.get("locationIds") or []
    claimed_here: dict[str, str | None] = {}
    if location_ids:
        claimed_here = {
            n["serialNumber"]: n.get("nickname")
            for n in lookups.nodes(customer_id, location_ids[0])
        }
    patched = [d for d in differences if d.detail == "up patches it"]
    entry.pop("importId", None)
    entry.pop("adopt", None)
    if patched:
        entry["adopt"] = True
    else:
        entry["importId"] = customer_id
    if differences:
        findings.extend(differences)
    else:
        findings.append(Finding(account, MATCHES, detail=f"customer {customer_id}; imported"))
    entry["protect"] = True
    entry["nodes"] = _node_findings(spec, lookups, claimed_here, findings)
    discovery.customers.append(_clean(entry))


def _clean(entry: dict[str, Any]) -> dict[str, Any]:
    if not entry.get("nodes"):
        entry.pop("nodes", None)
    order = ["accountId", "name", "email"]
    return {
        **{k: entry[k] for k in order if k in entry},
        **{k: v for k, v in entry.items() if k not in order},
    }


def discover(
    crm: Sequence[CustomerSpec],
    client: PlumeClient,
    journal: Journal,
    progress: Callable[[int], None] | None = None,
) -> Discovery:
    """Reconcile the CRM customers with Plume (every call through `journal`)."""
    discovery = Discovery()
    lookups = _Lookups(client, journal)
    for spec in crm:
        _reconcile(spec, lookups, discovery)
        if progress is not None:
            progress(1)
    discovery.calls_made = journal.made
    discovery.calls_replayed = journal.replayed
    return discovery


def customer_status(discovery: Discovery) -> Counter[str]:
    """Customers per outcome: matches, differs (at least one field), new."""
    statuses: dict[str, str] = {}
    for finding in discovery.findings:
        if finding.status in (MATCHES, NEW):
            statuses[finding.account_id] = finding.status
        elif finding.status == DIFFERS:
            statuses[finding.account_id] = DIFFERS
    return Counter(statuses.values())


def write_report(path: Path, findings: Sequence[Finding]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_COLUMNS)
        writer.writerows([spreadsheet_text(cell) for cell in f.row()] for f in findings)


def _print_report(discovery: Discovery, out_path: Path, report: Path, journal: Path) -> None:
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
    for finding in details[:20]:
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
    if len(details) > 20:
        console.print(f"  ... {len(details) - 20} more in {report}", markup=False)
    console.print(
        f"fleet file: {out_path}; report: {report}; API calls: {discovery.calls_made} made, "
        f"{discovery.calls_replayed} from the journal {journal}",
        markup=False,
        highlight=False,
    )


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
    parser.add_argument("--journal", type=Path, help="journal (default: <out>.journal.jsonl)")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out: Path = args.out
    report: Path = args.report or out.with_name(out.name + ".report.csv")
    journal_path: Path = args.journal or out.with_name(out.name + ".journal.jsonl")
    crm_path: Path = args.crm
    try:
        # the CRM file must be a regular file in its own directory, once links are resolved;
        # problems name it by its absolute path
        crm_file = crm_path.absolute()
        crm = load_fleet({"fleetFile": str(crm_file)}, root=crm_file.parent)
    except FleetConfigError as err:
        print(
            f"the CRM file {crm_path} has {len(err.problems)} problem(s); nothing was called:",
            file=sys.stderr,
        )
        for problem in err.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    try:
        settings = PlumeSettings()
        client = PlumeClient(settings)
    except PlumeError as err:
        print(f"plume-fleet discover: {err}", file=sys.stderr)
        return 2
    journal = Journal(journal_path)
    try:
        discovery = _run(crm.customers, client, journal, progress=not args.no_progress)
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
    _print_report(discovery, out, report, journal_path)
    return 0


def _run(
    crm: Sequence[CustomerSpec], client: PlumeClient, journal: Journal, *, progress: bool
) -> Discovery:
    if not progress:
        return discover(crm, client, journal)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ) as bar:
        task = bar.add_task("looking up customers", total=len(crm))
        return discover(crm, client, journal, progress=lambda n: bar.advance(task, n))


if __name__ == "__main__":
    raise SystemExit(main())
