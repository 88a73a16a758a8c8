"""Provisioning benchmark: the real ``pulumi`` CLI against a direct-httpx baseline making the
same API calls at the same in-flight concurrency, on the emulator as a subprocess.

    .venv/bin/python bench/provision.py                      # 100, 500 customers x 2; 0 and 50 ms
    .venv/bin/python bench/provision.py --with-2000          # adds 2,000 customers (slow)
    .venv/bin/python bench/provision.py --sizes 100 --latencies 50
    .venv/bin/python bench/provision.py --write-docs         # rewrites docs/performance.md
    .venv/bin/python bench/provision.py --rate-limited       # adds the 500 x 2 pilot at 6 req/s
    .venv/bin/python bench/provision.py --sizes '' --rate-limited \
        --pilot-modes checkpointed,skipped --checkpoint-sizes 500 2000  # checkpoints' cost

For each API latency (emulator ``--latency-ms``) and fleet size, one stack goes through
``up``, an unchanged ``up``, ``preview``, ``refresh``, an ``up`` that renames every customer,
and ``destroy``, each a real CLI process timed from start to exit. The emulator counts every
call and measures how many were in flight at once; the baseline (``bench/baseline.py``) then
makes the same creates and deletes with that many threads. Every figure is printed next to its
target. It prints numbers; it asserts nothing (``tests/cli/test_call_counts.py`` does).

Checkpoints: ``--pilot-modes checkpointed,skipped`` runs the rate-limited pilot once per mode
(the CLI's default, the whole state rewritten after every step, and ``PULUMI_SKIP_CHECKPOINTS``:
written once, at the end), and ``--checkpoint-sizes N ...`` runs ``up`` and ``destroy`` of a
fresh stack of each size in both modes with no rate limit and no latency (a checkpointed
run is CPU-bound: its CPU is the same at 6 req/s, and the limit would only lengthen the run),
to report the CLI's CPU per resource, its growth exponent between sizes, the state's bytes per
resource, and a picture (`bench/checkpoint_figure.py`).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import re
import shlex
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
from bench.checkpoint_figure import Line, draw  # noqa: E402
from bench.processes import ROLES, ProcessSampler  # noqa: E402
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_provider.fleet import write_fleet_file  # noqa: E402
from plume_testkit.cli import CliStack, find_cli  # noqa: E402

DOCS = REPO_ROOT / "docs" / "performance.md"
FIGURE = REPO_ROOT / "docs" / "performance-checkpoints.png"
PARTNER, CLIENT_ID, CLIENT_SECRET = "lab-partner", "lab-client", "lab-secret"
NODES_PER_CUSTOMER = 2
PHASES = ("up", "unchanged up", "preview", "refresh", "update", "destroy")
UP_TARGET, DESTROY_TARGET = 1.15, 1.10
LINEAR_TARGET = 4.4
PILOT_WALL_TARGET, PILOT_RATE_TARGET = 1.03, 0.97
FULL_PILOT, FULL_CHECKPOINT_SIZES = 500, (500, 2000)
"""The sizes issue 24 asks the checkpoint figures at; anything else is labelled a reduced run."""
MODES = {"checkpointed": False, "skipped": True}
"""``--pilot-modes`` / checkpoint modes: name -> ``PULUMI_SKIP_CHECKPOINTS``."""
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
    """The stack's state export after `up`: its size and any secret found in it. `bytes` is
    the export as `pulumi stack export` prints it (indented); `stored_bytes` the same
    deployment in compact JSON, as the DIY backends store it (0 in runs recorded before it)."""

    bytes: int
    resources: int
    leaks: list[str]
    stored_bytes: int = 0

    @property
    def bytes_per_resource(self) -> float:
        """The stored bytes a resource, else (older records) the export's."""
        return (self.stored_bytes or self.bytes) / self.resources


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
    compact = json.dumps(json.loads(stored), separators=(",", ":"))
    return StateCheck(len(stored.encode()), len(resources), leaks, len(compact.encode()))


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
    backend_url: str | None = None,
) -> CliStack:
    """The stack ``bench`` in a new directory of ``workdir`` (on ``backend_url``, else a file
    backend there), its client secret set with ``--secret`` and ``customers`` in its fleet
    file; a failed command shows its last 40 lines."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    env = {"PULUMI_SKIP_CHECKPOINTS": "true"} if options.skip_checkpoints else {}
    config = stack_config(emulator, rps)
    stack = CliStack(
        cli,
        root,
        config,
        "bench",
        passphrase=PASSPHRASE,
        env=env,
        error_tail=40,
        backend_url=backend_url,
    )
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


def mode_name(skip_checkpoints: bool) -> str:
    return "skipped" if skip_checkpoints else "checkpointed"


@dataclass
class Pilot:
    """The rate-limited pilot: its ``up`` and its ``destroy``, checkpointed or not."""

    customers: int
    phases: dict[str, Phase]
    skip_checkpoints: bool = True
    startup: float | None = None
    """The CLI's start-up measured beside the pilot (a one-customer `preview`) when no cell ran;
    None: `startup` of the cells."""

    @property
    def mode(self) -> str:
        return mode_name(self.skip_checkpoints)

    @property
    def resources(self) -> int:
        return self.customers * (1 + NODES_PER_CUSTOMER)

    def floor_seconds(self, op: str) -> float:
        return self.phases[op].api_calls / RATE

    def achieved(self, op: str) -> float:
        phase = self.phases[op]
        return phase.api_calls / phase.seconds if phase.seconds else 0.0


def run_pilot(
    cli: Path,
    workdir: Path,
    options: CliOptions,
    customers: int = 500,
    *,
    probe_startup: bool = False,
) -> Pilot:
    """``up`` then ``destroy`` of the pilot at the client's 6 requests/s against the firewall's
    2,000 per 300 s, back to back: at 6 req/s the rolling window never holds more than 1,800.
    Each pilot has an emulator (and a firewall window) of its own. ``probe_startup`` (no cell
    ran to give the CLI's start-up): first a `preview` of a one-customer stack, 0 API calls."""
    inventory = inventory_file(workdir / "pilot-inventory.json", customers)
    emulator = EmulatorProcess(inventory=inventory, waf_limit=2000, waf_window=300, reset=True)
    emulator.start()
    mode = mode_name(options.skip_checkpoints)
    try:
        startup_seconds = None
        if probe_startup:
            probe = fleet_stack(cli, workdir, "startup-", emulator, RATE, fleet(1), options)
            startup_seconds = timed(probe, "preview", emulator, options, "start-up").seconds
        declared = fleet(customers)
        stack = fleet_stack(cli, workdir, f"pilot-{mode}-", emulator, RATE, declared, options)
        phases = up_and_destroy(stack, emulator, options, f"pilot {mode}")
    finally:
        emulator.stop()
    return Pilot(customers, phases, options.skip_checkpoints, startup_seconds)


@dataclass
class CheckpointRun:
    """``up`` and ``destroy`` of a fresh stack of ``customers``, checkpointed or not, with no
    rate limit and no latency: the CLI's own CPU is what shows."""

    customers: int
    skip_checkpoints: bool
    phases: dict[str, Phase]
    state: StateCheck

    @property
    def mode(self) -> str:
        return mode_name(self.skip_checkpoints)

    @property
    def resources(self) -> int:
        return self.customers * (1 + NODES_PER_CUSTOMER)

    def cli_cpu(self, op: str) -> float:
        return self.phases[op].cpu_seconds.get("cli", 0.0)


def run_checkpoint_sizes(
    cli: Path, workdir: Path, sizes: list[int], parallel: int = 0
) -> list[CheckpointRun]:
    """At each size, skipped then checkpointed: one emulator (no firewall, no latency), reset
    before each stack; the state exported after `up` (`check_state`)."""
    if not sizes:
        return []
    inventory = inventory_file(workdir / "checkpoint-inventory.json", max(sizes))
    emulator = EmulatorProcess(inventory=inventory, waf_limit=0, latency_ms=0, reset=True)
    emulator.start()
    runs: list[CheckpointRun] = []
    try:
        for size in sizes:
            for mode in ("skipped", "checkpointed"):
                print(
                    f"checkpoints: {size} customers x {NODES_PER_CUSTOMER}, {mode}, "
                    "no rate limit, no latency",
                    flush=True,
                )
                options = CliOptions(skip_checkpoints=MODES[mode], parallel=parallel)
                emulator.reset()
                stack = fleet_stack(
                    cli, workdir, f"ckpt-{size}-{mode}-", emulator, 0, fleet(size), options
                )
                up = timed(stack, "up", emulator, options, f"{mode} up")
                state = check_state(stack)
                print(
                    f"    state export {state.bytes} bytes ({state.stored_bytes} stored), "
                    f"{state.resources} resources, leaks: {state.leaks or 'none'}"
                )
                down = timed(stack, "destroy", emulator, options, f"{mode} destroy")
                runs.append(CheckpointRun(size, MODES[mode], {"up": up, "destroy": down}, state))
    finally:
        emulator.stop()
    return runs


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


def targets(cells: list[Cell], pilots: list[Pilot]) -> list[tuple[str, str, str]]:
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
    for pilot in pilots:
        for op in PILOT_PHASES:
            phase = pilot.phases[op]
            floor = pilot.floor_seconds(op)
            start = pilot_startup(pilot, cells)
            share = pilot.achieved(op) / RATE
            ok = (
                phase.status_403 == 0
                and phase.seconds <= PILOT_WALL_TARGET * floor + start
                and share >= PILOT_RATE_TARGET
            )
            result.append(
                (
                    f"pilot `{op}` {pilot.customers} x 2 {pilot.mode} at 6 req/s, "
                    "firewall 2,000/300 s: "
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


def pilot_startup(pilot: Pilot, cells: list[Cell]) -> float:
    """The start-up allowed to ``pilot``: the one measured beside it, else the cells'."""
    return pilot.startup if pilot.startup is not None else startup(cells)


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


def memory_rows(cells: list[Cell], pilots: list[Pilot]) -> list[str]:
    """Peak resident memory per process role over each cell's commands."""
    header = " | ".join(f"{role} MiB" for role in ROLES)
    lines = [f"| latency | customers (resources) | {header} | load |", "|---|---|" + "---|" * 5]
    groups = [(f"{c.latency_ms:g} ms", f"{c.customers} ({c.resources})", c.cli) for c in cells]
    for pilot in pilots:
        where = f"pilot {pilot.mode}, 6 req/s"
        groups.append((where, f"{pilot.customers} ({pilot.resources})", pilot.phases))
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


def report(cells: list[Cell], pilots: list[Pilot], sweep: list[SweepRun] | None = None) -> str:
    lines = ["| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in targets(cells, pilots)]
    lines += ["", *rows(cells), *scaling_rows(cells), *memory_rows(cells, pilots)]
    lines += cpu_rows(cells) + sweep_rows(cells, sweep or [])
    return "\n".join(lines) + "\n"


# -- checkpointed against skipped ------------------------------------------------------------


def pilot_mode_rows(pilots: list[Pilot], cells: list[Cell]) -> list[str]:
    """Each pilot's `up` and `destroy`, checkpointed and skipped side by side, against
    wall ≤ 1.03 x (calls / 6 + start-up)."""
    if not pilots:
        return []
    lines = [
        f"| pilot at 6 req/s | mode | operation | wall s | API calls | calls / 6 + start-up s "
        f"| wall / (calls / 6 + start-up) | ≤ {PILOT_WALL_TARGET}? | 403s | CLI CPU s "
        "| CLI CPU ms / resource | load |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for pilot in sorted(pilots, key=lambda p: (p.customers, p.skip_checkpoints)):
        start = pilot_startup(pilot, cells)
        for op in PILOT_PHASES:
            phase = pilot.phases[op]
            allowed = pilot.floor_seconds(op) + start
            ratio = phase.seconds / allowed if allowed else float("nan")
            cpu = phase.cpu_seconds.get("cli", 0.0)
            met = "yes" if ratio <= PILOT_WALL_TARGET and phase.status_403 == 0 else "**no**"
            lines.append(
                f"| {pilot.customers} x 2 ({pilot.resources}) | {pilot.mode} | {op} "
                f"| {phase.seconds:.1f} | {phase.api_calls} "
                f"| {pilot.floor_seconds(op):.1f} + {start:.1f} = {allowed:.1f} | {ratio:.3f} "
                f"| {met} | {phase.status_403} | {cpu:.1f} | {1000 * cpu / pilot.resources:.2f} "
                f"| {phase.load:.1f} |"
            )
    return lines


def checkpoint_rows(runs: list[CheckpointRun]) -> list[str]:
    """Every checkpoint run: wall, calls, calls / 6, the CLI's CPU (per resource) and, after
    `up`, the state's bytes per resource."""
    if not runs:
        return []
    lines = [
        "| customers (resources) | mode | operation | wall s | API calls | calls / 6 s "
        "| CLI CPU s | CLI CPU ms / resource | state stored after `up`: bytes / resources = B/res. "
        "| load |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in sorted(runs, key=lambda r: (r.customers, r.skip_checkpoints)):
        for op in PILOT_PHASES:
            phase = run.phases[op]
            cpu = run.cli_cpu(op)
            state = (
                f"{run.state.stored_bytes or run.state.bytes:,} / {run.state.resources:,} = "
                f"{run.state.bytes_per_resource:,.0f}"
                if op == "up" and run.state.resources
                else ""
            )
            lines.append(
                f"| {run.customers} ({run.resources}) | {run.mode} | {op} | {phase.seconds:.1f} "
                f"| {phase.api_calls} | {phase.api_calls / RATE:.1f} | {cpu:.1f} "
                f"| {1000 * cpu / run.resources:.2f} | {state} | {phase.load:.1f} |"
            )
    return lines


def growth(runs: list[CheckpointRun]) -> list[tuple[str, str, int, float, int, float, float]]:
    """(mode, operation, small size, its CLI CPU s, large size, its CLI CPU s, k) between the
    smallest and the largest size each mode ran at: CPU(large) / CPU(small) = (large /
    small)^k; k is nan when a CPU is 0 (a command too short to be sampled)."""
    result = []
    for mode in MODES:
        ours = sorted((r for r in runs if r.mode == mode), key=lambda r: r.customers)
        if len(ours) < 2 or ours[0].customers == ours[-1].customers:
            continue
        small, large = ours[0], ours[-1]
        for op in PILOT_PHASES:
            a, b = small.cli_cpu(op), large.cli_cpu(op)
            k = (
                math.log(b / a) / math.log(large.customers / small.customers)
                if a > 0 and b > 0
                else float("nan")
            )
            result.append((mode, op, small.customers, a, large.customers, b, k))
    return result


def growth_rows(runs: list[CheckpointRun]) -> list[str]:
    found = growth(runs)
    if not found:
        return []
    lines = [
        "| mode | operation | CLI CPU s: smaller size | larger size | growth exponent k |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {mode} | {op} | {a:.1f} at {n1} | {b:.1f} at {n2} | {k:.2f} |"
        for mode, op, n1, a, n2, b, k in found
    ]
    return lines


def full_size_missing(pilots: list[Pilot], runs: list[CheckpointRun]) -> list[str]:
    """What the issue's full-size figures need and these results lack."""
    missing = [
        f"the {FULL_PILOT} x 2 pilot {mode}"
        for mode, skip in MODES.items()
        if not any(p.customers == FULL_PILOT and p.skip_checkpoints is skip for p in pilots)
    ]
    missing += [
        f"{size} customers {mode}"
        for size in FULL_CHECKPOINT_SIZES
        for mode, skip in MODES.items()
        if not any(r.customers == size and r.skip_checkpoints is skip for r in runs)
    ]
    return missing


FULL_SIZE_COMMAND = (
    'make bench BENCH_ARGS=\'--sizes "" --rate-limited --pilot-modes checkpointed,skipped '
    "--checkpoint-sizes 500 2000 --json bench/recorded-checkpoints.json'"
)


def checkpoint_report(
    cells: list[Cell], pilots: list[Pilot], runs: list[CheckpointRun], figure: Path | None = None
) -> str:
    """The pilot in both modes, the CLI's CPU and the state per resource at each size, the
    growth exponent, and where the picture is; what the full-size figures still lack."""
    parts: list[str] = []
    missing = full_size_missing(pilots, runs)
    if missing and (pilots or runs):
        parts += [
            f"**Full-size figures not measured yet** (missing here: {'; '.join(missing)}): "
            f"run `make bench` on a quiet machine (or `{FULL_SIZE_COMMAND}` for this part "
            "alone) for them.",
            "",
        ]
    table = pilot_mode_rows(pilots, cells)
    if table:
        parts += [
            "The rate-limited pilot (plume:requestsPerSecond 6, firewall 2,000 / 300 s), "
            "start-up: the CLI's, measured as the fastest command that calls nothing:",
            "",
            *table,
            "",
        ]
    table = checkpoint_rows(runs)
    if table:
        parts += [
            "A fresh stack per size and mode, **no rate limit and no latency** (the CLI's own "
            "CPU shows; calls / 6 is the time those calls take at 6 req/s):",
            "",
            *table,
            "",
        ]
    table = growth_rows(runs)
    if table:
        parts += ["CLI CPU(larger) / CLI CPU(smaller) = (larger / smaller)^k:", "", *table, ""]
    if figure is not None and runs:
        parts += [
            f"![wall time and CLI CPU against customers, checkpointed and skipped]({figure.name})",
            "",
        ]
    if not parts:
        return "Not run (`--rate-limited --pilot-modes checkpointed,skipped --checkpoint-sizes`)."
    return "\n".join(parts).rstrip("\n") + "\n"


def draw_checkpoints(
    path: Path, pilots: list[Pilot], runs: list[CheckpointRun], command: str
) -> Path | None:
    """The picture of ``runs`` (and the pilots, as points), or None when there are none."""
    if not runs:
        return None
    panels: dict[str, list[Line]] = {}
    for op in PILOT_PHASES:
        lines: list[Line] = []
        for mode in MODES:
            ours = [r for r in runs if r.mode == mode]
            lines.append(
                Line(
                    f"{mode}: wall",
                    "wall",
                    mode,
                    [(r.customers, r.phases[op].seconds) for r in ours],
                )
            )
            lines.append(
                Line(f"{mode}: CLI CPU", "cpu", mode, [(r.customers, r.cli_cpu(op)) for r in ours])
            )
        floor = {r.customers: r.phases[op].api_calls / RATE for r in runs}
        lines.append(Line("calls / 6 (6 req/s floor)", "floor", "floor", list(floor.items())))
        for mode in MODES:
            points = [(p.customers, p.phases[op].seconds) for p in pilots if p.mode == mode]
            lines.append(Line(f"pilot {mode} at 6 req/s: wall", "pilot", mode, points))
        panels[f"`{op}`"] = lines
    sizes = ", ".join(str(s) for s in sorted({r.customers for r in runs}))
    title = (
        f"Checkpointed vs PULUMI_SKIP_CHECKPOINTS: {sizes} customers x 2, no rate limit "
        "(marks without a line: the pilot at 6 req/s)"
    )
    return draw(path, panels, title, f"{command} ({machine()})")


def machine() -> str:
    return f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"


def write_docs(
    cells: list[Cell],
    pilots: list[Pilot],
    sweep: list[SweepRun],
    runs: list[CheckpointRun],
    commands: tuple[str, str],
) -> None:
    """docs/performance.md from the template: ``commands`` are the command of the results and
    the command of the checkpoint figures; the picture is drawn to `FIGURE` beside it."""
    template = (REPO_ROOT / "bench" / "performance.md.in").read_text()
    figure = draw_checkpoints(FIGURE, pilots, runs, commands[1])
    text = template.replace("{{COMMAND}}", commands[0]).replace("{{MACHINE}}", machine())
    text = text.replace("{{CHECKPOINT_COMMAND}}", commands[1] or "not run")
    text = text.replace("{{CHECKPOINTS}}", checkpoint_report(cells, pilots, runs, figure).rstrip())
    DOCS.write_text(text.replace("{{RESULTS}}", report(cells, pilots, sweep).rstrip("\n")))


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


def load_pilots(saved: dict[str, Any]) -> list[Pilot]:
    """The pilots of a `--json` document; one written before `--pilot-modes` has one
    ``pilot``, skipped if its command says ``--skip-checkpoints``."""
    raw = saved.get("pilots")
    if raw is None:
        old = saved.get("pilot")
        skip = "--skip-checkpoints" in str(saved.get("command", ""))
        raw = [{**old, "skip_checkpoints": skip}] if old else []
    return [_pilot(item) for item in raw]


def _pilot(item: dict[str, Any]) -> Pilot:
    return Pilot(
        item["customers"],
        _phases(item["phases"]),
        item.get("skip_checkpoints", True),
        item.get("startup"),
    )


def load_checkpoint_runs(saved: dict[str, Any]) -> list[CheckpointRun]:
    return [
        CheckpointRun(
            r["customers"], r["skip_checkpoints"], _phases(r["phases"]), StateCheck(**r["state"])
        )
        for r in saved.get("checkpoints", [])
    ]


def rerender(paths: list[Path], *, write: bool) -> int:
    """Print (and write) the results saved by `--json` (several runs merged: their cells,
    sweeps and checkpoint runs in order, the first pilot of each size and mode), running
    nothing."""
    cells: list[Cell] = []
    sweep: list[SweepRun] = []
    pilots: list[Pilot] = []
    runs: list[CheckpointRun] = []
    commands: list[str] = []
    checkpoint_commands: list[str] = []
    for path in paths:
        saved = json.loads(path.read_text())
        command = saved.get("command", "?")
        cells += load_cells(saved["cells"])
        sweep += [
            SweepRun(r["parallel"], r["latency_ms"], r["customers"], _phases(r["phases"]))
            for r in saved.get("sweep", [])
        ]
        seen = {(p.customers, p.skip_checkpoints) for p in pilots}
        found = [p for p in load_pilots(saved) if (p.customers, p.skip_checkpoints) not in seen]
        pilots += found
        more = load_checkpoint_runs(saved)
        runs += more
        if saved["cells"] or saved.get("sweep") or found:
            commands.append(command)
        if more or found:
            checkpoint_commands.append(command)
    print(report(cells, pilots, sweep))
    print(checkpoint_report(cells, pilots, runs))
    if write:
        write_docs(
            cells, pilots, sweep, runs, (" and ".join(commands), " and ".join(checkpoint_commands))
        )
        print(f"wrote {DOCS.relative_to(REPO_ROOT)}")
    return 0


def sizes_of(values: list[str]) -> list[int]:
    """``--checkpoint-sizes 500 2000`` or ``500,2000``."""
    return [int(v) for value in values for v in value.split(",") if v]


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
        "--pilot-modes",
        default="",
        help="with --rate-limited: run the pilot in each of these modes, "
        "checkpointed,skipped (default: the mode --skip-checkpoints sets)",
    )
    parser.add_argument(
        "--checkpoint-sizes",
        nargs="+",
        default=[],
        metavar="N",
        help="also run up and destroy of N customers x 2 checkpointed and skipped, no rate "
        "limit, for the CLI's CPU and the state per resource and a picture (e.g. 500 2000)",
    )
    parser.add_argument(
        "--figure",
        type=Path,
        default=None,
        help="where the checkpoint picture goes (default: docs/performance-checkpoints.png "
        "with --write-docs, else the run's temporary directory)",
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
    pilots: list[Pilot] = []
    if args.rate_limited:
        modes = [m for m in args.pilot_modes.split(",") if m] or [
            mode_name(options.skip_checkpoints)
        ]
        for mode in modes:
            print(
                f"rate-limited pilot, {mode}: {args.pilot_customers} customers x 2 at 6 req/s, "
                "WAF 2,000 / 300 s",
                flush=True,
            )
            moded = CliOptions(skip_checkpoints=MODES[mode], parallel=options.parallel)
            pilot = run_pilot(cli, workdir, moded, args.pilot_customers, probe_startup=not cells)
            pilots.append(pilot)
    checkpoint_sizes = sizes_of(args.checkpoint_sizes)
    runs = run_checkpoint_sizes(cli, workdir, checkpoint_sizes, options.parallel)
    command = shlex.join(["bench/provision.py", *args_in])
    figure_path = args.figure or (FIGURE if args.write_docs else workdir / FIGURE.name)
    figure = draw_checkpoints(figure_path, pilots, runs, command)
    print()
    print(report(cells, pilots, sweep))
    print("Checkpointed against skipped (PULUMI_SKIP_CHECKPOINTS=true):")
    print()
    print(checkpoint_report(cells, pilots, runs, figure))
    if figure is not None:
        print(f"drew {figure}")
    if args.json is not None:
        document = {
            "command": command,
            "cells": [asdict(c) for c in cells],
            "pilots": [asdict(p) for p in pilots],
            "sweep": [asdict(s) for s in sweep],
            "checkpoints": [asdict(r) for r in runs],
        }
        args.json.write_text(json.dumps(document, indent=1))
    if args.write_docs:
        cells_command = command if cells or sweep or pilots else ""
        checkpoint_command = command if pilots or runs else ""
        write_docs(cells, pilots, sweep, runs, (cells_command, checkpoint_command))
        print(f"wrote {DOCS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
