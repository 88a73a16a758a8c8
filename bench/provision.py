"""Provisioning benchmark: the real ``pulumi`` CLI against a direct-httpx baseline making the
same API calls at the same in-flight concurrency, on the emulator as a subprocess.

    .venv/bin/python bench/provision.py                      # 100, 500 customers x 2; 0 and 50 ms
    .venv/bin/python bench/provision.py --with-2000          # adds 2,000 customers (slow)
    .venv/bin/python bench/provision.py --sizes 100 --latencies 50
    .venv/bin/python bench/provision.py --write-docs         # rewrites docs/performance.md
    .venv/bin/python bench/provision.py --rate-limited       # adds the 500 x 2 pilot at 6 req/s

For each API latency (emulator ``--latency-ms``) and fleet size, one stack goes through
``up``, an unchanged ``up``, ``preview``, ``refresh``, an ``up`` that renames every customer,
and ``destroy``, each a real CLI process timed from start to exit. The emulator counts every
call and measures how many were in flight at once; the baseline (``bench/baseline.py``) then
makes the same creates and deletes with that many threads. Every figure is printed next to its
target. It prints numbers; it asserts nothing (``tests/cli/test_call_counts.py`` does).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
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
from bench.processes import ROLES, ProcessSampler  # noqa: E402
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_provider.fleet import write_fleet_file  # noqa: E402
from plume_testkit.cli import CliStack, find_cli  # noqa: E402

DOCS = REPO_ROOT / "docs" / "performance.md"
PARTNER, CLIENT_ID, CLIENT_SECRET = "lab-partner", "lab-client", "lab-secret"
NODES_PER_CUSTOMER = 2
PHASES = ("up", "unchanged up", "preview", "refresh", "update", "destroy")
UP_TARGET, DESTROY_TARGET = 1.15, 1.10
LINEAR_TARGET = 4.4
PILOT_WALL_TARGET, PILOT_RATE_TARGET = 1.03, 0.97
RATE = 6.0
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
DYNAMIC_PROVIDER_TYPE = "pulumi:providers:pulumi-python"
SECRETS = {
    "client secret": CLIENT_SECRET,
    "Basic value": base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
}
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


FLEET_FILE = "fleets/bench.json"
"""Where each stack's fleet is, in its project: a fleet of 2,000 customers does not fit in the
stack config (the CLI hands the config to the program in one environment variable, and Linux
caps one at 128 KiB: `argument list too long`), so every size is given as a fleet file, as a
pilot's CRM export would be."""


def write_fleet(stack: CliStack, customers: list[dict[str, Any]]) -> None:
    write_fleet_file(stack.project / FLEET_FILE, customers)


def stack_config(emulator: EmulatorProcess, rps: float) -> dict[str, Any]:
    return {
        "plume:apiUrl": emulator.api_url,
        "plume:tokenUrl": emulator.token_url,
        "plume:partnerId": PARTNER,
        "plume:clientId": CLIENT_ID,
        "plume:requestsPerSecond": f"{rps:g}",
        "plume-fleet:protect": False,
        "plume-fleet:retainOnDelete": False,
        "plume-fleet:fleetFile": FLEET_FILE,
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
    memory_mb: dict[str, float] = field(default_factory=dict)
    """Peak resident memory per process role (`bench.processes.ROLES`); empty for the baseline."""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU seconds per process role: where the command's time went."""
    load: float = 0.0
    """The machine's 1-minute load average when the phase ended."""


def measured(
    emulator: EmulatorProcess, seconds: float, processes: ProcessSampler | None = None
) -> Phase:
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
        memory_mb=dict(processes.peaks) if processes else {},
        cpu_seconds=processes.cpu_seconds if processes else {},
        load=os.getloadavg()[0],
    )


@dataclass
class StateCheck:
    """The stack's state export after `up`: its size and any secret found in it."""

    bytes: int
    resources: int
    leaks: list[str]


def check_state(stack: CliStack) -> StateCheck:
    """The state export searched for the credentials and any JWT: all of it as stored, and
    every resource with its secrets shown but the default dynamic provider, whose inputs are
    the stack's config (where the client secret was set with ``--secret``: stored encrypted)."""
    leaks: list[str] = []
    stored = stack.pulumi("stack", "export", "--stack", stack.stack).stdout
    shown = json.loads(
        stack.pulumi("stack", "export", "--show-secrets", "--stack", stack.stack).stdout
    )
    resources = shown.get("deployment", {}).get("resources", [])
    ours = [r for r in resources if r.get("type") != DYNAMIC_PROVIDER_TYPE]
    for where, text in (("stored", stored), ("resources, secrets shown", json.dumps(ours))):
        leaks += [f"{where}: {label}" for label, secret in SECRETS.items() if secret in text]
        leaks += [f"{where}: JWT-shaped string" for _ in JWT_SHAPE.finditer(text)]
    return StateCheck(len(stored.encode()), len(resources), leaks)


@dataclass
class Cell:
    latency_ms: float
    customers: int
    resources: int
    cli: dict[str, Phase]
    baseline: dict[str, Phase]
    state: StateCheck | None = None

    def ratio(self, op: str) -> float:
        base = self.baseline[op].seconds
        return self.cli[op].seconds / base if base else float("nan")


@dataclass(frozen=True)
class CliOptions:
    """How the benchmark runs the CLI.

    ``skip_checkpoints`` sets ``PULUMI_SKIP_CHECKPOINTS``: the engine writes the state once at
    the end instead of after every step (each write is the whole state, so per-step writes cost
    O(n^2)); ``parallel`` > 0 passes ``--parallel`` to every operation but ``preview``."""

    skip_checkpoints: bool = False
    parallel: int = 0


def fleet_stack(
    cli: Path,
    workdir: Path,
    prefix: str,
    emulator: EmulatorProcess,
    rps: float,
    customers: list[dict[str, Any]],
    options: CliOptions,
) -> CliStack:
    """The stack ``bench`` in a new directory of ``workdir``, its client secret set with
    ``--secret`` and ``customers`` in its fleet file; a failed command shows its last 40 lines."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    env = {"PULUMI_SKIP_CHECKPOINTS": "true"} if options.skip_checkpoints else {}
    config = stack_config(emulator, rps)
    stack = CliStack(cli, root, config, "bench", passphrase=PASSPHRASE, env=env, error_tail=40)
    stack.pulumi(
        "config", "set", "--secret", "plume:clientSecret", CLIENT_SECRET, "--stack", "bench"
    )
    write_fleet(stack, customers)
    return stack


def timed(
    stack: CliStack, verb: str, emulator: EmulatorProcess, options: CliOptions, label: str
) -> Phase:
    """``pulumi <verb>`` measured: wall time, the emulator's counts and every process's peak
    memory (no event log: writing one would be measured too); one line printed, ``label``
    first."""
    parallel = options.parallel if verb != "preview" else 0
    extra = ["--parallel", str(parallel)] if parallel else []
    ignore = [emulator.process.pid] if emulator.process else []
    emulator.reset_stats()
    with ProcessSampler(ignore=ignore) as processes:
        run = stack.operation(verb, *extra, timeout=3600, events=False)
    phase = measured(emulator, run.seconds, processes)
    cpu = ", ".join(f"{role} {s:.1f}" for role, s in phase.cpu_seconds.items())
    print(
        f"    {label:<22} {phase.seconds:7.2f} s  {phase.api_calls:5d} calls"
        f"  {phase.status_403} x 403  in flight {phase.in_flight_peak} / "
        f"{phase.mean_in_flight:.1f}  load {phase.load:.1f}  CPU s: {cpu}",
        flush=True,
    )
    return phase


def up_and_destroy(
    stack: CliStack, emulator: EmulatorProcess, options: CliOptions, label: str
) -> dict[str, Phase]:
    """``up`` then ``destroy`` of ``stack``, each measured by `timed`."""
    return {op: timed(stack, op, emulator, options, f"{label} {op}") for op in PILOT_PHASES}


def run_cell(
    emulator: EmulatorProcess,
    latency: float,
    cli: Path,
    workdir: Path,
    customers: int,
    options: CliOptions,
) -> Cell:
    emulator.reset()
    declared = fleet(customers)
    stack = fleet_stack(cli, workdir, f"cell-{customers}-", emulator, 0, declared, options)
    phases: dict[str, Phase] = {}
    state: StateCheck | None = None
    for op in PHASES:
        if op == "update":
            for spec in declared:
                spec["name"] = f"{spec['name']} (renamed)"
            write_fleet(stack, declared)
        verb = {"unchanged up": "up", "update": "up"}.get(op, op)
        phases[op] = timed(stack, verb, emulator, options, f"cli {op}")
        if op == "up":
            state = check_state(stack)
            print(f"    state export {state.bytes} bytes, leaks: {state.leaks or 'none'}")

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
    resources = customers * (1 + NODES_PER_CUSTOMER)
    return Cell(latency, customers, resources, phases, baseline, state)


PILOT_PHASES = ("up", "destroy")


@dataclass
class Pilot:
    """The rate-limited pilot: its ``up`` and its ``destroy``."""

    customers: int
    phases: dict[str, Phase]

    def floor_seconds(self, op: str) -> float:
        return self.phases[op].api_calls / RATE

    def achieved(self, op: str) -> float:
        phase = self.phases[op]
        return phase.api_calls / phase.seconds if phase.seconds else 0.0


def run_pilot(cli: Path, workdir: Path, options: CliOptions, customers: int = 500) -> Pilot:
    """``up`` then ``destroy`` of the pilot at the client's 6 requests/s against the firewall's
    2,000 per 300 s, back to back: at 6 req/s the rolling window never holds more than 1,800."""
    inventory = inventory_file(workdir / "pilot-inventory.json", customers)
    emulator = EmulatorProcess(inventory=inventory, waf_limit=2000, waf_window=300, reset=True)
    emulator.start()
    try:
        declared = fleet(customers)
        stack = fleet_stack(cli, workdir, "pilot-", emulator, RATE, declared, options)
        phases = up_and_destroy(stack, emulator, options, "pilot")
    finally:
        emulator.stop()
    return Pilot(customers, phases)


@dataclass
class SweepRun:
    """``up`` and ``destroy`` of one fleet with ``--parallel`` set to ``parallel``."""

    parallel: int
    latency_ms: float
    customers: int
    phases: dict[str, Phase]


def run_sweep(
    emulator: EmulatorProcess,
    latency: float,
    cli: Path,
    workdir: Path,
    customers: int,
    options: CliOptions,
) -> SweepRun:
    emulator.reset()
    prefix = f"sweep-{options.parallel}-"
    stack = fleet_stack(cli, workdir, prefix, emulator, 0, fleet(customers), options)
    phases = up_and_destroy(stack, emulator, options, f"--parallel {options.parallel}")
    return SweepRun(options.parallel, latency, customers, phases)


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
    scale = scaling(cells)
    add(
        f"2,000 customers ≤ {LINEAR_TARGET} x the time of 500 (every timed operation)",
        [ratio for _, _, ratio in scale],
        "{:.2f} x",
        all(ratio <= LINEAR_TARGET for _, _, ratio in scale),
    )
    states = [c.state for c in cells if c.state is not None]
    result.append(
        (
            "state export after `up`: size, no secret (client secret, Basic value, JWT)",
            ", ".join(f"{s.resources} resources {s.bytes / 2**20:.1f} MiB" for s in states)
            or "not run",
            ("yes" if all(not s.leaks for s in states) else "**no**") if states else "—",
        )
    )
    if pilot is not None:
        for op in PILOT_PHASES:
            phase = pilot.phases[op]
            floor = pilot.floor_seconds(op)
            start = startup(cells)
            share = pilot.achieved(op) / RATE
            ok = (
                phase.status_403 == 0
                and phase.seconds <= PILOT_WALL_TARGET * floor + start
                and share >= PILOT_RATE_TARGET
            )
            result.append(
                (
                    f"pilot `{op}` {pilot.customers} x 2 at 6 req/s, firewall 2,000/300 s: "
                    f"wall ≤ {PILOT_WALL_TARGET} x calls / 6 + CLI start-up, "
                    f"≥ {PILOT_RATE_TARGET:.0%} of the limit, 0 firewall 403s",
                    f"{phase.seconds:.0f} s for {phase.api_calls} calls (calls / 6 = "
                    f"{floor:.0f} s, {phase.seconds / floor:.3f} x; start-up allowed: "
                    f"{start:.1f} s), {pilot.achieved(op):.2f} req/s over the whole wall time, "
                    f"start-up included ({share:.1%}), {phase.status_403} x 403",
                    "yes" if ok else "**no**",
                )
            )
    return result


def startup(cells: list[Cell]) -> float:
    """The CLI's start-up: the fastest command that called nothing (an unchanged `up` or a
    `preview`) of the smallest fleet, program and engine included; 0 when none ran. The pilot's
    own start-up, with five times as many resources to declare, is longer: this is a lower
    bound, so the pilot's wall-time target is judged strictly; its rate is judged over the whole
    wall time, start-up included, stricter still."""
    idle = [
        c.cli[op].seconds
        for c in cells
        if c.customers == min(x.customers for x in cells)
        for op in ("unchanged up", "preview")
    ]
    return min(idle, default=0.0)


def scaling(cells: list[Cell]) -> list[tuple[float, str, float]]:
    """(latency, operation, 2,000's time / 500's) for every latency both sizes ran at."""
    by_key = {(c.latency_ms, c.customers): c for c in cells}
    return [
        (latency, op, big.cli[op].seconds / small.cli[op].seconds)
        for (latency, customers), big in by_key.items()
        if customers == 2000 and (small := by_key.get((latency, 500))) is not None
        for op in PHASES
    ]


def scaling_rows(cells: list[Cell]) -> list[str]:
    scale = scaling(cells)
    if not scale:
        return []
    lines = ["| latency | operation | 2,000 / 500 customers |", "|---|---|---|"]
    lines += [f"| {lat:g} ms | {op} | {ratio:.2f} x |" for lat, op, ratio in scale]
    return ["", *lines]


def memory_rows(cells: list[Cell], pilot: Pilot | None) -> list[str]:
    """Peak resident memory per process role over each cell's commands."""
    header = " | ".join(f"{role} MiB" for role in ROLES)
    lines = [f"| latency | customers (resources) | {header} | load |", "|---|---|" + "---|" * 5]
    groups = [(f"{c.latency_ms:g} ms", f"{c.customers} ({c.resources})", c.cli) for c in cells]
    if pilot is not None:
        resources = pilot.customers * (1 + NODES_PER_CUSTOMER)
        groups.append(("pilot, 6 req/s", f"{pilot.customers} ({resources})", pilot.phases))
    for latency, size, phases in groups:
        peaks = [max(p.memory_mb.get(role, 0.0) for p in phases.values()) for role in ROLES]
        load = max(p.load for p in phases.values())
        cells_text = " | ".join(f"{mb:.0f}" for mb in peaks)
        lines.append(f"| {latency} | {size} | {cells_text} | {load:.1f} |")
    return ["", *lines]


def cpu_rows(cells: list[Cell]) -> list[str]:
    """CPU seconds per process role of every CLI command: where its wall time went."""
    header = " | ".join(f"{role} CPU s" for role in ROLES)
    lines = [
        f"| latency | customers | operation | wall s | {header} |",
        "|---|---|---|---|" + "---|" * 4,
    ]
    for cell in cells:
        for op, phase in cell.cli.items():
            spent = " | ".join(f"{phase.cpu_seconds.get(role, 0.0):.1f}" for role in ROLES)
            lines.append(
                f"| {cell.latency_ms:g} ms | {cell.customers} | {op} | {phase.seconds:.1f} "
                f"| {spent} |"
            )
    return ["", *lines]


def sweep_rows(cells: list[Cell], sweep: list[SweepRun]) -> list[str]:
    """`--parallel` against the CLI's default (the cells of the same size and latency)."""
    if not sweep:
        return []
    lines = [
        "| `--parallel` | latency | customers | up s | destroy s | in flight in up: peak / mean |",
        "|---|---|---|---|---|---|",
    ]
    runs = [(f"{s.parallel}", s.latency_ms, s.customers, s.phases) for s in sweep]
    keys = {(s.latency_ms, s.customers) for s in sweep}
    runs += [
        ("default", c.latency_ms, c.customers, c.cli)
        for c in cells
        if (c.latency_ms, c.customers) in keys
    ]
    for parallel, latency, customers, phases in runs:
        up, down = phases["up"], phases["destroy"]
        lines.append(
            f"| {parallel} | {latency:g} ms | {customers} | {up.seconds:.1f} | {down.seconds:.1f} "
            f"| {up.in_flight_peak} / {up.mean_in_flight:.1f} |"
        )
    return ["", *lines]


def report(cells: list[Cell], pilot: Pilot | None, sweep: list[SweepRun] | None = None) -> str:
    lines = ["| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in targets(cells, pilot)]
    lines += ["", *rows(cells), *scaling_rows(cells), *memory_rows(cells, pilot)]
    lines += cpu_rows(cells) + sweep_rows(cells, sweep or [])
    return "\n".join(lines) + "\n"


def write_docs(cells: list[Cell], pilot: Pilot | None, sweep: list[SweepRun], command: str) -> None:
    template = (REPO_ROOT / "bench" / "performance.md.in").read_text()
    machine = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    text = template.replace("{{COMMAND}}", command).replace("{{MACHINE}}", machine)
    DOCS.write_text(text.replace("{{RESULTS}}", report(cells, pilot, sweep).rstrip("\n")))


def load_cells(raw: list[dict[str, Any]]) -> list[Cell]:
    """Cells from the `--json` document."""

    return [
        Cell(
            item["latency_ms"],
            item["customers"],
            item["resources"],
            _phases(item["cli"]),
            _phases(item["baseline"]),
            StateCheck(**item["state"]) if item.get("state") else None,
        )
        for item in raw
    ]


def _phases(items: dict[str, Any]) -> dict[str, Phase]:
    return {op: Phase(**values) for op, values in items.items()}


def rerender(paths: list[Path], *, write: bool) -> int:
    """Print (and write) the results saved by `--json` (several runs merged: their cells and
    sweeps in order, the first pilot), running nothing."""
    cells: list[Cell] = []
    sweep: list[SweepRun] = []
    pilot: Pilot | None = None
    commands: list[str] = []
    for path in paths:
        saved = json.loads(path.read_text())
        commands.append(saved.get("command", "?"))
        cells += load_cells(saved["cells"])
        sweep += [
            SweepRun(r["parallel"], r["latency_ms"], r["customers"], _phases(r["phases"]))
            for r in saved.get("sweep", [])
        ]
        raw_pilot = saved.get("pilot")
        if raw_pilot and pilot is None:
            pilot = Pilot(raw_pilot["customers"], _phases(raw_pilot["phases"]))
    print(report(cells, pilot, sweep))
    if write:
        write_docs(cells, pilot, sweep, " and ".join(commands))
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
        "--pilot-customers", type=int, default=500, help="customers of the pilot (x 2 nodes)"
    )
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="run the CLI with PULUMI_SKIP_CHECKPOINTS=true (state written once, at the end)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=0,
        help="pass --parallel N to every CLI operation but preview (0: the CLI's default)",
    )
    parser.add_argument(
        "--parallel-sweep",
        default="",
        help="also run up and destroy of --sweep-customers at the last latency with each of "
        "these --parallel values (e.g. 2,4,16,32)",
    )
    parser.add_argument("--sweep-customers", type=int, default=500)
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/performance.md")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="run nothing: print (and with --write-docs write) the results saved by --json "
        "(several files: merged)",
    )
    args = parser.parse_args(args_in)
    if args.from_json is not None:
        return rerender(args.from_json, write=args.write_docs)
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([2000] if args.with_2000 else [])
    latencies = [float(s) for s in args.latencies.split(",") if s]
    cli = find_cli()
    if cli is None:
        print("no Pulumi CLI: run `make pulumi-cli`", file=sys.stderr)
        return 2
    options = CliOptions(skip_checkpoints=args.skip_checkpoints, parallel=args.parallel)
    workdir = Path(tempfile.mkdtemp(prefix="plume-bench-"))
    parallels = [int(p) for p in args.parallel_sweep.split(",") if p]
    inventory = inventory_file(
        workdir / "inventory.json", max([*sizes, args.sweep_customers if parallels else 1])
    )
    cells: list[Cell] = []
    sweep: list[SweepRun] = []
    for latency in latencies if sizes or parallels else []:
        emulator = EmulatorProcess(inventory=inventory, waf_limit=0, latency_ms=latency, reset=True)
        emulator.start()
        try:
            for size in sizes:
                print(
                    f"latency {latency:g} ms, {size} customers x {NODES_PER_CUSTOMER}", flush=True
                )
                cells.append(run_cell(emulator, latency, cli, workdir, size, options))
            if latency == latencies[-1]:
                for parallel in parallels:
                    print(f"latency {latency:g} ms, --parallel {parallel}", flush=True)
                    swept = CliOptions(options.skip_checkpoints, parallel)
                    size = args.sweep_customers
                    sweep.append(run_sweep(emulator, latency, cli, workdir, size, swept))
        finally:
            emulator.stop()
    pilot = None
    if args.rate_limited:
        print(
            f"rate-limited pilot: {args.pilot_customers} customers x 2 at 6 req/s, "
            "WAF 2,000 / 300 s",
            flush=True,
        )
        pilot = run_pilot(cli, workdir, options, args.pilot_customers)
    print()
    print(report(cells, pilot, sweep))
    command = " ".join(["bench/provision.py", *args_in])
    if args.json is not None:
        document = {
            "command": command,
            "cells": [asdict(c) for c in cells],
            "pilot": asdict(pilot) if pilot else None,
            "sweep": [asdict(s) for s in sweep],
        }
        args.json.write_text(json.dumps(document, indent=1))
    if args.write_docs:
        write_docs(cells, pilot, sweep, command)
        print(f"wrote {DOCS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
