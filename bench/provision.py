"""Provisioning benchmark: the real ``pulumi`` CLI against a direct-httpx baseline making the
same API calls at the same in-flight concurrency, on the emulator as a subprocess.

    .venv/bin/python bench/provision.py                      # 100, 500 customers x 2; 0 and 50 ms
    .venv/bin/python bench/provision.py --with-2000          # adds 2,000 customers (slow)
    .venv/bin/python bench/provision.py --sizes 100 --latencies 50
    .venv/bin/python bench/provision.py --write-docs         # rewrites docs/performance.md
    .venv/bin/python bench/provision.py --rate-limited       # adds the 500 x 2 pilot at 6 req/s
    .venv/bin/python bench/provision.py --engine double ...  # the engine double instead (old bench)

For each API latency (emulator ``--latency-ms``) and fleet size, one stack goes through
``up``, an unchanged ``up``, ``preview``, ``refresh``, an ``up`` that renames every customer,
and ``destroy``, each a real CLI process timed from start to exit. The emulator counts every
call and measures how many were in flight at once; the baseline (``bench/baseline.py``) then
makes the same creates and deletes with that many threads. Every figure is printed next to its
target. It prints numbers; it asserts nothing (``tests/cli/test_call_counts.py`` does).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.baseline import Endpoints, baseline_destroy, baseline_up  # noqa: E402
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_testkit.cli import CliStack, find_cli  # noqa: E402
from plume_testkit.cli_run import CliRun  # noqa: E402

DOCS = REPO_ROOT / "docs" / "performance.md"
PARTNER, CLIENT_ID, CLIENT_SECRET = "lab-partner", "lab-client", "lab-secret"
NODES_PER_CUSTOMER = 2
PHASES = ("up", "unchanged up", "preview", "refresh", "update", "destroy")
UP_TARGET, DESTROY_TARGET = 1.15, 1.10
RATE = 6.0
PASSPHRASE = "plume-bench"


# -- the fleet -------------------------------------------------------------------------------


def fleet(customers: int) -> list[dict[str, Any]]:
    """Customers ``BENCH-0001``... with a gateway and an extender each (serials of their own,
    from the inventory ``inventory_file`` writes; no packs)."""
    return [
        {
            "accountId": f"BENCH-{i:04d}",
            "name": f"Customer {i}",
            "email": f"bench-{i:04d}@example.org",
            "nodes": [
                {"serialNumber": f"BENCH-GW-{i:04d}", "nickname": "gateway"},
                {"serialNumber": f"BENCH-POD-{i:04d}", "nickname": "pod"},
            ],
        }
        for i in range(1, customers + 1)
    ]


def inventory_file(path: Path, customers: int) -> Path:
    nodes = []
    for i in range(1, customers + 1):
        nodes.append(
            {"serialNumber": f"BENCH-GW-{i:04d}", "partnerId": PARTNER, "residentialGateway": True}
        )
        nodes.append({"serialNumber": f"BENCH-POD-{i:04d}", "partnerId": PARTNER})
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def stack_config(
    emulator: EmulatorProcess, customers: list[dict[str, Any]], rps: float
) -> dict[str, Any]:
    return {
        "plume:apiUrl": emulator.api_url,
        "plume:tokenUrl": emulator.token_url,
        "plume:partnerId": PARTNER,
        "plume:clientId": CLIENT_ID,
        "plume:clientSecret": CLIENT_SECRET,
        "plume:requestsPerSecond": f"{rps:g}",
        "plume-fleet:protect": False,
        "plume-fleet:retainOnDelete": False,
        "plume-fleet:customers": customers,
    }


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Phase:
    """One operation, timed by the driver and counted by the emulator."""

    seconds: float
    api_calls: int
    tokens: int
    in_flight_peak: int
    mean_in_flight: float
    status_403: int = 0
    by_route: dict[str, int] = field(default_factory=dict)


def measured(emulator: EmulatorProcess, seconds: float) -> Phase:
    stats = emulator.stats()
    by_route: Counter[str] = Counter()
    forbidden = 0
    for row in stats["requests"]:
        if str(row["route"]).startswith("/api"):
            by_route[f"{row['method']} {row['route']}"] += row["count"]
            if row["status"] == 403:
                forbidden += row["count"]
    busy = float(stats.get("busy_seconds", 0.0))
    return Phase(
        seconds=seconds,
        api_calls=sum(by_route.values()),
        tokens=int(stats["tokens_issued"]),
        in_flight_peak=int(stats.get("in_flight_peak", 0)),
        mean_in_flight=busy / seconds if seconds else 0.0,
        status_403=forbidden,
        by_route=dict(by_route),
    )


@dataclass
class Cell:
    latency_ms: float
    customers: int
    resources: int
    cli: dict[str, Phase]
    baseline: dict[str, Phase]

    def ratio(self, op: str) -> float:
        base = self.baseline[op].seconds
        return self.cli[op].seconds / base if base else float("nan")


def cli_stack(cli: Path, root: Path, config: dict[str, Any], skip_checkpoints: bool) -> CliStack:
    """The stack ``bench`` under ``root``; a failed command shows its last 40 lines.

    ``skip_checkpoints`` sets ``PULUMI_SKIP_CHECKPOINTS``: the engine writes the state once at
    the end instead of after every step (each write is the whole state, so per-step writes cost
    O(n^2))."""
    env = {"PULUMI_SKIP_CHECKPOINTS": "true"} if skip_checkpoints else {}
    return CliStack(cli, root, config, "bench", passphrase=PASSPHRASE, env=env, error_tail=40)


def timed(stack: CliStack, verb: str) -> CliRun:
    """``pulumi <verb>``, without an event log (writing one would be measured too)."""
    return stack.operation(verb, timeout=3600, events=False)


def run_cell(
    emulator: EmulatorProcess,
    latency: float,
    cli: Path,
    workdir: Path,
    customers: int,
    *,
    skip_checkpoints: bool = False,
) -> Cell:
    emulator.reset()
    declared = fleet(customers)
    root = Path(tempfile.mkdtemp(prefix=f"cell-{customers}-", dir=workdir))
    config = stack_config(emulator, declared, 0)
    stack = cli_stack(cli, root, config, skip_checkpoints)
    phases: dict[str, Phase] = {}
    for op in PHASES:
        if op == "update":
            for spec in declared:
                spec["name"] = f"{spec['name']} (renamed)"
        verb = {"unchanged up": "up", "update": "up"}.get(op, op)
        emulator.reset_stats()
        run = timed(stack, verb)
        phases[op] = measured(emulator, run.seconds)
        print(f"    cli {op:<13} {run.seconds:7.2f} s  {phases[op].api_calls:5d} calls", flush=True)

    emulator.reset()
    endpoints = Endpoints(emulator.api_url, emulator.token_url, CLIENT_ID, CLIENT_SECRET, PARTNER)
    baseline: dict[str, Phase] = {}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    with httpx.Client(timeout=60, limits=limits) as http:
        workers = max(1, phases["up"].in_flight_peak)
        emulator.reset_stats()
        started = time.perf_counter()
        created = baseline_up(http, endpoints, fleet(customers), workers=workers)
        baseline["up"] = measured(emulator, time.perf_counter() - started)
        workers = max(1, phases["destroy"].in_flight_peak)
        emulator.reset_stats()
        started = time.perf_counter()
        baseline_destroy(http, endpoints, created, workers=workers)
        baseline["destroy"] = measured(emulator, time.perf_counter() - started)
    for op in ("up", "destroy"):
        print(
            f"    baseline {op:<8} {baseline[op].seconds:7.2f} s "
            f" {baseline[op].api_calls:5d} calls",
            flush=True,
        )
    return Cell(latency, customers, customers * (1 + NODES_PER_CUSTOMER), phases, baseline)


@dataclass
class Pilot:
    customers: int
    seconds: float
    calls: int
    status_403: int
    tokens: int

    @property
    def floor_seconds(self) -> float:
        return self.calls / RATE

    @property
    def achieved(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def run_pilot(
    cli: Path, workdir: Path, customers: int = 500, *, skip_checkpoints: bool = False
) -> Pilot:
    """``up`` of the pilot at the client's 6 requests/s against the firewall's 2,000 per 300 s."""
    inventory = inventory_file(workdir / "pilot-inventory.json", customers)
    emulator = EmulatorProcess(inventory=inventory, waf_limit=2000, waf_window=300, reset=True)
    emulator.start()
    try:
        root = Path(tempfile.mkdtemp(prefix="pilot-", dir=workdir))
        config = stack_config(emulator, fleet(customers), RATE)
        stack = cli_stack(cli, root, config, skip_checkpoints)
        emulator.reset_stats()
        run = timed(stack, "up")
        phase = measured(emulator, run.seconds)
    finally:  # no destroy: the emulator's database is thrown away with it
        emulator.stop()
    return Pilot(customers, run.seconds, phase.api_calls, phase.status_403, phase.tokens)


# -- reporting -------------------------------------------------------------------------------


def per_resource(cell: Cell, op: str) -> float:
    return cell.cli[op].api_calls / cell.resources


def per_update(cell: Cell) -> float:
    return cell.cli["update"].api_calls / cell.customers


def rows(cells: list[Cell]) -> list[str]:
    lines = [
        "| latency | customers (resources) | operation | CLI s | baseline s | ratio | API calls "
        "| calls per resource op | tokens | in flight: peak / mean (baseline) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        for op in PHASES:
            phase = cell.cli[op]
            base = cell.baseline.get(op)
            units = {"update": cell.customers, "unchanged up": 0, "preview": 0}.get(
                op, cell.resources
            )
            per = f"{phase.api_calls / units:.2f}" if units else "—"
            flight = f"{phase.in_flight_peak} / {phase.mean_in_flight:.1f}"
            if base is not None:
                flight += f" ({base.in_flight_peak} / {base.mean_in_flight:.1f})"
            lines.append(
                f"| {cell.latency_ms:g} ms | {cell.customers} ({cell.resources}) | {op} "
                f"| {phase.seconds:.1f} | {f'{base.seconds:.1f}' if base else '—'} "
                f"| {f'{cell.ratio(op):.2f} x' if base else '—'} | {phase.api_calls} | {per} "
                f"| {phase.tokens} | {flight} |"
            )
    return lines


def targets(cells: list[Cell], pilot: Pilot | None) -> list[tuple[str, str, str]]:
    """(target, measured, met) for every figure the issue sets."""
    result: list[tuple[str, str, str]] = []

    def add(target: str, values: list[float], fmt: str, ok: bool) -> None:
        shown = ", ".join(fmt.format(v) for v in values) if values else "not run"
        result.append((target, shown, ("yes" if ok else "**no**") if values else "—"))

    refresh = [per_resource(c, "refresh") for c in cells]
    add("refresh ≤ 1.0 call per resource", refresh, "{:.2f}", all(v <= 1.0 for v in refresh))
    creates = [per_resource(c, "up") for c in cells]
    add("1 call per create", creates, "{:.2f}", all(v == 1.0 for v in creates))
    updates = [per_update(c) for c in cells]
    add("1 call per update", updates, "{:.2f}", all(v == 1.0 for v in updates))
    deletes = [per_resource(c, "destroy") for c in cells]
    add("1 call per delete", deletes, "{:.2f}", all(v == 1.0 for v in deletes))
    idle = [float(c.cli[op].api_calls) for c in cells for op in ("unchanged up", "preview")]
    add("unchanged up and preview: 0 API calls", idle, "{:g}", all(v == 0 for v in idle))
    tokens = [float(p.tokens) for c in cells for p in c.cli.values() if p.api_calls]
    add("1 token per host process (per CLI command)", tokens, "{:g}", all(v == 1 for v in tokens))
    big = [c for c in cells if c.latency_ms == 50 and c.customers == 500]
    up = [c.ratio("up") for c in big]
    add(
        f"real `up` ≤ {UP_TARGET} x baseline at 50 ms, 500 customers",
        up,
        "{:.2f} x",
        all(v <= UP_TARGET for v in up),
    )
    down = [c.ratio("destroy") for c in big]
    add(
        f"`destroy` ≤ {DESTROY_TARGET} x baseline at 50 ms, 500 customers",
        down,
        "{:.2f} x",
        all(v <= DESTROY_TARGET for v in down),
    )
    if pilot is not None:
        result.append(
            (
                f"pilot {pilot.customers} x 2 at 6 req/s, firewall 2,000/300 s: wall ≈ calls / 6, "
                "0 firewall 403s",
                f"{pilot.seconds:.0f} s for {pilot.calls} calls (calls / 6 = "
                f"{pilot.floor_seconds:.0f} s), {pilot.achieved:.2f} req/s, "
                f"{pilot.status_403} x 403",
                "yes" if pilot.status_403 == 0 and pilot.achieved <= RATE * 1.05 else "**no**",
            )
        )
    return result


def report(cells: list[Cell], pilot: Pilot | None) -> str:
    lines = ["| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in targets(cells, pilot)]
    lines += ["", *rows(cells)]
    return "\n".join(lines) + "\n"


def write_docs(cells: list[Cell], pilot: Pilot | None, command: str) -> None:
    template = (REPO_ROOT / "bench" / "performance.md.in").read_text()
    machine = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    text = template.replace("{{COMMAND}}", command).replace("{{MACHINE}}", machine)
    DOCS.write_text(text.replace("{{RESULTS}}", report(cells, pilot).rstrip("\n")))


def load_cells(raw: list[dict[str, Any]]) -> list[Cell]:
    """Cells from the `--json` document."""

    def phases(items: dict[str, Any]) -> dict[str, Phase]:
        return {op: Phase(**values) for op, values in items.items()}

    return [
        Cell(
            item["latency_ms"],
            item["customers"],
            item["resources"],
            phases(item["cli"]),
            phases(item["baseline"]),
        )
        for item in raw
    ]


def rerender(path: Path, *, write: bool) -> int:
    """Print (and write) the results saved by `--json`, running nothing."""
    saved = json.loads(path.read_text())
    cells = load_cells(saved["cells"])
    pilot = Pilot(**saved["pilot"]) if saved.get("pilot") else None
    print(report(cells, pilot))
    if write:
        write_docs(cells, pilot, saved.get("command", "?"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--engine" in args_in:
        at = args_in.index("--engine")
        engine = args_in[at + 1] if at + 1 < len(args_in) else ""
        if engine == "double":
            from bench import provision_double

            return provision_double.main(args_in[:at] + args_in[at + 2 :])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--engine",
        choices=("cli", "double"),
        default="cli",
        help="the real CLI (default) or the engine double (plume_testkit/enginedouble)",
    )
    parser.add_argument(
        "--sizes",
        default="100,500",
        help="customers per fleet (x 2 nodes); empty with --rate-limited for the pilot alone",
    )
    parser.add_argument("--with-2000", action="store_true", help="add 2,000 customers (slow)")
    parser.add_argument("--latencies", default="0,50", help="emulator ms added to each call")
    parser.add_argument(
        "--rate-limited",
        action="store_true",
        help="add the 500 x 2 pilot at plume:requestsPerSecond 6, WAF on",
    )
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="run the CLI with PULUMI_SKIP_CHECKPOINTS=true (state written once, at the end)",
    )
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/performance.md")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="run nothing: print (and with --write-docs write) the results saved by --json",
    )
    args = parser.parse_args(args_in)
    if args.from_json is not None:
        return rerender(args.from_json, write=args.write_docs)
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([2000] if args.with_2000 else [])
    latencies = [float(s) for s in args.latencies.split(",") if s]
    cli = find_cli()
    if cli is None:
        print("no Pulumi CLI: run `make pulumi-cli` (or use --engine double)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="plume-bench-"))
    inventory = inventory_file(workdir / "inventory.json", max(sizes, default=1))
    cells: list[Cell] = []
    for latency in latencies if sizes else []:
        emulator = EmulatorProcess(inventory=inventory, waf_limit=0, latency_ms=latency, reset=True)
        emulator.start()
        try:
            for size in sizes:
                print(
                    f"latency {latency:g} ms, {size} customers x {NODES_PER_CUSTOMER}", flush=True
                )
                cells.append(
                    run_cell(
                        emulator,
                        latency,
                        cli,
                        workdir,
                        size,
                        skip_checkpoints=args.skip_checkpoints,
                    )
                )
        finally:
            emulator.stop()
    pilot = None
    if args.rate_limited:
        print("rate-limited pilot: 500 customers x 2 at 6 req/s, WAF 2,000 / 300 s", flush=True)
        pilot = run_pilot(cli, workdir, skip_checkpoints=args.skip_checkpoints)
    print()
    print(report(cells, pilot))
    command = " ".join(["bench/provision.py", *args_in])
    if args.json is not None:
        document = {
            "command": command,
            "cells": [asdict(c) for c in cells],
            "pilot": asdict(pilot) if pilot else None,
        }
        args.json.write_text(json.dumps(document, indent=1))
    if args.write_docs:
        write_docs(cells, pilot, command)
        print(f"wrote {DOCS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
