"""Provisioning benchmark: the provider (engine double + real provider host + real program)
against a direct-client baseline making the same API calls, on the emulator as a subprocess.

    .venv/bin/python bench/provision.py                 # sizes 10,100,500; latency 0 and 50 ms
    .venv/bin/python bench/provision.py --quick         # sizes 10,100
    .venv/bin/python bench/provision.py --skip-rate-limited --sizes 10
    .venv/bin/python bench/provision.py --profile --write-docs   # what docs/performance.md shows

For each API latency (emulator `--latency-ms`) and fleet size (customers x 2 nodes, WAF off,
client rate limit off), it times `up` and `destroy` both ways and prints wall seconds, the
ratio, the provider's own overhead per resource operation, API calls per resource (emulator
stats), tokens issued and peak memory. Then one rate-limited run: 300 claims through
`PlumeClient` from 4 threads at the default 6 requests/s, against the WAF's real limit
(2,000 per 5 minutes): achieved rate against the limit and the WAF 403 count.
It prints numbers; it asserts nothing (the tests do that).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.baseline import Endpoints, baseline_destroy, baseline_up  # noqa: E402
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_testkit import HOSTHOOKS  # noqa: E402
from plume_testkit.fleets import (  # noqa: E402
    LAB_CLIENT_ID,
    LAB_CLIENT_SECRET,
    LAB_PARTNER,
    make_fleet,
    provider_config,
    stack_config,
)

try:
    import psutil
except ImportError:  # psutil is optional: fall back to getrusage for the driver only
    psutil = None

PROGRAM = REPO_ROOT / "__main__.py"
DOCS = REPO_ROOT / "docs"
WORKERS = 4
NODES_PER_CUSTOMER = 2
RATE_LIMIT = 6.0
RATE_CUSTOMERS = 10
RATE_NODES_PER_CUSTOMER = 30
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


# -- measurements ----------------------------------------------------------------------------


@dataclass
class Phase:
    """One timed operation (up or destroy) of one side."""

    seconds: float
    api_calls: int
    mutating_calls: int
    tokens: int
    calls_by_route: dict[str, int] = field(default_factory=dict)
    op_ms: float = 0.0
    """Mean latency of one resource operation: a direct API call (baseline), or one
    Create/Delete call to the provider host, as the engine sees it (provider)."""
    provider_op_ms: float = 0.0
    """Provider only: mean time inside the provider's create/delete (host side)."""


@dataclass
class SizeResult:
    """Both sides of one (latency, size) cell."""

    latency_ms: float
    customers: int
    resources: int
    baseline_up: Phase
    baseline_destroy: Phase
    provider_up: Phase
    provider_destroy: Phase
    provider_preview: Phase | None
    provider_second_up: Phase | None
    host_start_seconds: float
    driver_peak_mb: float
    host_peak_mb: float
    baseline_peak_mb: float

    def overhead_ms(self, op: str) -> float:
        base: Phase = getattr(self, f"baseline_{op}")
        prov: Phase = getattr(self, f"provider_{op}")
        return (prov.seconds - base.seconds) * 1000.0 / self.resources

    def own_ms(self, op: str) -> float:
        """What the provider's create/delete adds to the API call it makes (host side)."""
        base: Phase = getattr(self, f"baseline_{op}")
        prov: Phase = getattr(self, f"provider_{op}")
        return prov.provider_op_ms - base.op_ms

    def ratio(self, op: str) -> float:
        base: Phase = getattr(self, f"baseline_{op}")
        prov: Phase = getattr(self, f"provider_{op}")
        return prov.seconds / base.seconds if base.seconds else float("nan")


def _api_stats(stats: dict[str, Any]) -> tuple[int, int, dict[str, int]]:
    calls = mutating = 0
    by_route: Counter[str] = Counter()
    for row in stats["requests"]:
        route = str(row["route"])
        if not route.startswith("/api"):
            continue
        calls += row["count"]
        by_route[f"{row['method']} {route}"] += row["count"]
        if row["method"] in MUTATING:
            mutating += row["count"]
    return calls, mutating, dict(by_route)


def _mean_ms(values: list[float]) -> float:
    return 1000.0 * sum(values) / len(values) if values else 0.0


def _phase(seconds: float, stats: dict[str, Any], durations: list[float] | None = None) -> Phase:
    calls, mutating, by_route = _api_stats(stats)
    return Phase(
        seconds, calls, mutating, int(stats["tokens_issued"]), by_route, _mean_ms(durations or [])
    )


def _measure(
    emulator: EmulatorProcess,
    run: Callable[[], object],
    durations: Callable[[], list[float]] = list,
) -> Phase:
    """Time ``run()``: the phase of the emulator's stats after it, with ``durations()``."""
    started = time.perf_counter()
    run()
    return _phase(time.perf_counter() - started, emulator.stats(), durations())


def _host_timings(path: Path, suffix: str) -> list[float]:
    """Durations the host measured inside the providers for `<Provider>.<suffix>`; clears."""
    if not path.exists():
        return []
    values = [
        float(line.split()[1])
        for line in path.read_text().splitlines()
        if line.split()[0].endswith(f".{suffix}")
    ]
    path.write_text("")
    return values


def _timing_host(timings: Path) -> Any:
    """A ProviderHost that records the wall time of every gRPC call, by method, and whose
    providers time their own create/delete (plume_testkit/hosthooks)."""
    from plume_testkit.enginedouble.host import ProviderHost

    class TimingHost(ProviderHost):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.durations: dict[str, list[float]] = {}
            self._timing_lock = threading.Lock()

        def _call(self, method: str, urn: str, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return super()._call(method, urn, request)
            finally:
                elapsed = time.perf_counter() - started
                with self._timing_lock:
                    self.durations.setdefault(method, []).append(elapsed)

        def take(self, method: str) -> list[float]:
            with self._timing_lock:
                return self.durations.pop(method, [])

    return TimingHost(extra_paths=[HOSTHOOKS], env={"RELIABILITY_HOST_TIMINGS": str(timings)})


class MemorySampler:
    """Peak RSS of this process (the driver) and of the given pids (the host), every 100 ms.

    Cheap on purpose (two /proc reads per sample): a sampler that walks every child process
    competes for the driver's GIL and slows what it measures.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.driver_peak = 0
        self.children_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if psutil is None:
            return
        me = psutil.Process()
        others = []
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                others.append(psutil.Process(pid))
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.driver_peak = max(self.driver_peak, me.memory_info().rss)
                total = sum(p.memory_info().rss for p in others)
                self.children_peak = max(self.children_peak, total)
            self._stop.wait(0.1)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _mb(value: float) -> float:
    return value / (1024 * 1024)


def _driver_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- profiling ---------------------------------------------------------------------------------


class PySpy:
    """`py-spy record` attached to a pid, stopped with SIGINT; raw (collapsed) output."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.process = subprocess.Popen(
            [exe, "record", "-p", str(pid), "-r", "250", "--gil", "-f", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def summarize_profile(raw: Path, top: int = 12) -> list[tuple[str, float, float]]:
    """(function, self %, inclusive %) of the busiest functions in a py-spy raw profile."""
    if not raw.exists():
        return []
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return []
    return [
        (name, 100.0 * n / total, 100.0 * inclusive[name] / total)
        for name, n in self_counts.most_common(top)
    ]


def summarize_by_area(raw: Path) -> dict[str, float]:
    """Share of samples whose innermost project/library frame falls in each area."""
    areas = {
        "grpc / protobuf": ("grpc", "protobuf", "rpc.py", "_channel", "_server"),
        "dill / pickle": ("dill", "pickle"),
        "httpx / httpcore / h11": ("httpx", "httpcore", "h11"),
        "pydantic": ("pydantic",),
        "plume_provider": ("plume_provider",),
        "pulumi SDK": ("pulumi/",),
        "engine double": ("enginedouble",),
        "asyncio / threads": ("asyncio", "threading", "concurrent"),
        "json": ("json/",),
    }
    counts: Counter[str] = Counter()
    total = 0
    if not raw.exists():
        return {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        label = "other"
        for frame in reversed(frames):
            hit = next((a for a, keys in areas.items() if any(k in frame for k in keys)), None)
            if hit is not None:
                label = hit
                break
        counts[label] += count
    return {area: 100.0 * n / total for area, n in counts.most_common()} if total else {}


# -- the two sides -----------------------------------------------------------------------------


def _check_fleet(emulator: EmulatorProcess, customers: int, nodes: int) -> None:
    state = emulator.state()["partners"][LAB_PARTNER]
    if len(state["customers"]) != customers or state["licenses_in_use"] != nodes:
        raise RuntimeError(
            f"expected {customers} customers / {nodes} licenses, emulator has "
            f"{len(state['customers'])} / {state['licenses_in_use']}"
        )


def run_baseline(
    emulator: EmulatorProcess, fleet: list[dict[str, Any]]
) -> tuple[Phase, Phase, float]:
    endpoints = Endpoints(
        emulator.api_url, emulator.token_url, LAB_CLIENT_ID, LAB_CLIENT_SECRET, LAB_PARTNER
    )
    nodes = sum(len(c["nodes"]) for c in fleet)
    limits = httpx.Limits(max_connections=WORKERS + 2, max_keepalive_connections=WORKERS + 2)
    emulator.reset()
    up_ops: list[float] = []
    destroy_ops: list[float] = []
    with httpx.Client(limits=limits, timeout=60) as http, MemorySampler([]) as sampler:
        started = time.perf_counter()
        created = baseline_up(http, endpoints, fleet, workers=WORKERS, durations=up_ops)
        up = _phase(time.perf_counter() - started, emulator.stats(), up_ops)
        _check_fleet(emulator, len(fleet), nodes)
        emulator.reset_stats()
        started = time.perf_counter()
        baseline_destroy(http, endpoints, created, workers=WORKERS, durations=destroy_ops)
        destroy = _phase(time.perf_counter() - started, emulator.stats(), destroy_ops)
        _check_fleet(emulator, 0, 0)
    return up, destroy, _mb(sampler.driver_peak)


def run_provider(
    emulator: EmulatorProcess,
    fleet: list[dict[str, Any]],
    workdir: Path,
    profile_dir: Path | None = None,
    idle_checks: bool = True,
) -> dict[str, Any]:
    from plume_testkit.enginedouble.engine import EngineDouble

    nodes = sum(len(c["nodes"]) for c in fleet)
    config = stack_config(
        fleet, provider_config(emulator.api_url, emulator.token_url, requests_per_second=0)
    )
    state_path = workdir / "state.json"
    state_path.unlink(missing_ok=True)
    emulator.reset()
    started = time.perf_counter()
    timings = workdir / "host-timings.txt"
    timings.write_text("")
    host = _timing_host(timings).start()
    host_start = time.perf_counter() - started
    spies: list[PySpy] = []
    preview = second = None
    try:
        engine = EngineDouble(PROGRAM, config, state_path, host=host, parallelism=WORKERS)
        if idle_checks:
            emulator.reset_stats()
            preview = _measure(emulator, engine.preview)
        emulator.reset_stats()
        if profile_dir is not None:
            assert host._process is not None
            spies = [
                PySpy(host._process.pid, profile_dir / "host.raw"),
                PySpy(os.getpid(), profile_dir / "driver.raw"),
            ]
        assert host._process is not None
        with MemorySampler([host._process.pid]) as sampler:
            _host_timings(timings, "create")
            up = _measure(emulator, engine.up, lambda: host.take("Create"))
            up.provider_op_ms = _mean_ms(_host_timings(timings, "create"))
            for spy in spies:
                spy.stop()
            spies = []
            _check_fleet(emulator, len(fleet), nodes)
            if idle_checks:
                emulator.reset_stats()
                second = _measure(emulator, engine.up)
            emulator.reset_stats()
            host.take("Delete")
            _host_timings(timings, "delete")
            destroy = _measure(emulator, engine.destroy, lambda: host.take("Delete"))
            destroy.provider_op_ms = _mean_ms(_host_timings(timings, "delete"))
            _check_fleet(emulator, 0, 0)
    finally:
        for spy in spies:
            spy.stop()
        host.stop()
    return {
        "up": up,
        "destroy": destroy,
        "preview": preview,
        "second_up": second,
        "host_start": host_start,
        "driver_peak_mb": _mb(sampler.driver_peak),
        "host_peak_mb": _mb(sampler.children_peak),
    }


def call_accounting(emulator: EmulatorProcess, workdir: Path, size: int = 10) -> list[str]:
    """API calls per resource operation of every kind, on a small fleet (emulator stats)."""
    from plume_testkit.enginedouble.engine import EngineDouble

    fleet = make_fleet(size, NODES_PER_CUSTOMER, prefix="CALLS")
    nodes = size * NODES_PER_CUSTOMER
    provider = provider_config(emulator.api_url, emulator.token_url, requests_per_second=0)
    state_path = workdir / "calls.json"
    state_path.unlink(missing_ok=True)
    emulator.reset()
    lines: list[str] = []

    def take(what: str, per: int) -> None:
        stats = emulator.stats()
        calls, mutating, by_route = _api_stats(stats)
        routes = ", ".join(f"{route} x{n}" for route, n in sorted(by_route.items()))
        lines.append(
            f"{what}: {calls} API calls ({mutating} mutating) for {per} resources = "
            f"{calls / per if per else 0:.2f} per resource; tokens {stats['tokens_issued']}; "
            f"[{routes}]"
        )
        emulator.reset_stats()

    host = _timing_host(workdir / "calls-timings.txt").start()
    try:
        engine = EngineDouble(PROGRAM, stack_config(fleet, provider), state_path, host=host)
        emulator.reset_stats()
        engine.preview()
        take("preview (create plan)", size + nodes)
        engine.up()
        take("up: create", size + nodes)
        engine.preview()
        take("preview (nothing to do)", size + nodes)
        engine.up()
        take("unchanged up", size + nodes)
        engine.refresh()
        take("refresh: read", size + nodes)
        for spec in fleet:
            spec["name"] += " (renamed)"
            for node in spec["nodes"]:
                node["nickname"] += " (renamed)"
        engine.stack_config = dict(stack_config(fleet, provider))
        engine.preview()
        take("preview (update plan)", size + nodes)
        engine.up()
        take("up: update (customer name, node nickname)", size + nodes)
        engine.destroy()
        take("destroy: delete", size + nodes)
    finally:
        host.stop()
    return lines


# -- the rate-limited run ------------------------------------------------------------------------


@dataclass
class RateResult:
    limit: float
    requests: int
    claims: int
    seconds: float
    achieved: float
    waf_403: int
    tokens: int


def run_rate_limited(workdir: Path) -> RateResult:
    from plume_provider.client import PlumeClient
    from plume_provider.client.models import CustomerRegistration
    from plume_provider.client.settings import PlumeSettings

    fleet = make_fleet(RATE_CUSTOMERS, RATE_NODES_PER_CUSTOMER, prefix="RATE")
    with EmulatorProcess(db_path=workdir / "rate.sqlite", reset=True) as emulator:
        settings = PlumeSettings(
            api_url=emulator.api_url,
            token_url=emulator.token_url,
            client_id=LAB_CLIENT_ID,
            client_secret=LAB_CLIENT_SECRET,
            partner_id=LAB_PARTNER,
            requests_per_second=RATE_LIMIT,
        )
        with PlumeClient(settings) as client:
            locations: dict[str, tuple[str, str]] = {}
            started = time.perf_counter()
            for spec in fleet:
                customer = client.register_customer(
                    CustomerRegistration(
                        account_id=spec["accountId"], partner_id=LAB_PARTNER, name=spec["name"]
                    )
                )
                assert customer.location_id is not None
                locations[spec["accountId"]] = (customer.id, customer.location_id)
            work = [
                (*locations[spec["accountId"]], node["serialNumber"])
                for spec in fleet
                for node in spec["nodes"]
            ]
            lock = threading.Lock()

            def worker() -> None:
                while True:
                    with lock:
                        if not work:
                            return
                        customer_id, location_id, serial = work.pop()
                    client.claim_node(customer_id, location_id, serial)

            threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
        stats = emulator.stats()
        calls, _, by_route = _api_stats(stats)
        waf = sum(
            row["count"]
            for row in stats["requests"]
            if row["status"] == 403 and str(row["route"]).startswith(("/api", "/oauth2"))
        )
        claims = sum(
            n for route, n in by_route.items() if route.startswith("POST") and "nodes" in route
        )
        state = emulator.state()["partners"][LAB_PARTNER]
        if state["licenses_in_use"] != RATE_CUSTOMERS * RATE_NODES_PER_CUSTOMER:
            raise RuntimeError(f"rate-limited run ended with {state['licenses_in_use']} licenses")
    return RateResult(
        RATE_LIMIT, calls, claims, seconds, calls / seconds, waf, int(stats["tokens_issued"])
    )


# -- reporting ---------------------------------------------------------------------------------


def table(results: list[SizeResult]) -> str:
    head = (
        "| latency | customers | resources | op | baseline s | provider s | ratio | "
        "overhead ms/op | ms per op: API call direct / provider create-delete in host (own) / "
        "gRPC call seen by engine | API calls/resource | tokens | "
        "peak MB driver+host |\n"
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for r in results:
        for op in ("up", "destroy"):
            base: Phase = getattr(r, f"baseline_{op}")
            prov: Phase = getattr(r, f"provider_{op}")
            rows.append(
                f"| {r.latency_ms:g} ms | {r.customers} | {r.resources} | {op} | "
                f"{base.seconds:.2f} | {prov.seconds:.2f} | {r.ratio(op):.2f} | "
                f"{r.overhead_ms(op):.2f} | {base.op_ms:.2f} / {prov.provider_op_ms:.2f} "
                f"({r.own_ms(op):+.2f}) / {prov.op_ms:.2f} | {prov.api_calls / r.resources:.2f} "
                f"(baseline {base.api_calls / r.resources:.2f}) | {prov.tokens} | "
                f"{r.driver_peak_mb:.0f}+{r.host_peak_mb:.0f} |"
            )
    return head + "\n".join(rows) + "\n"


def idle_table(results: list[SizeResult]) -> str:
    head = (
        "| latency | customers | preview s (API calls) | unchanged up s (API calls, mutating) |"
        " host start s |\n|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.latency_ms:g} ms | {r.customers} | {r.provider_preview.seconds:.2f} "
        f"({r.provider_preview.api_calls}) | {r.provider_second_up.seconds:.2f} "
        f"({r.provider_second_up.api_calls}, {r.provider_second_up.mutating_calls}) | "
        f"{r.host_start_seconds:.2f} |"
        for r in results
        if r.provider_preview is not None and r.provider_second_up is not None
    ]
    return head + "\n".join(rows) + "\n"


def scaling_lines(results: list[SizeResult]) -> list[str]:
    lines = []
    by_latency: dict[float, dict[int, SizeResult]] = {}
    for r in results:
        by_latency.setdefault(r.latency_ms, {})[r.customers] = r
    for latency, cells in sorted(by_latency.items()):
        if 100 in cells and 500 in cells:
            for side in ("baseline", "provider"):
                t100 = getattr(cells[100], f"{side}_up").seconds
                t500 = getattr(cells[500], f"{side}_up").seconds
                lines.append(
                    f"{latency:g} ms, {side}: up(500) / up(100) = {t500 / t100:.2f} (target <= 5.5)"
                )
    return lines


def chart(results: list[SizeResult], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    for ax, op in zip(axes, ("up", "destroy"), strict=True):
        for latency, style in ((0.0, "o"), (50.0, "s")):
            cells = sorted(
                (r for r in results if r.latency_ms == latency), key=lambda r: r.customers
            )
            if not cells:
                continue
            sizes = [r.customers for r in cells]
            ax.plot(
                sizes,
                [getattr(r, f"provider_{op}").seconds for r in cells],
                marker=style,
                label=f"provider, {latency:g} ms/call",
            )
            ax.plot(
                sizes,
                [getattr(r, f"baseline_{op}").seconds for r in cells],
                marker=style,
                linestyle="--",
                label=f"direct client, {latency:g} ms/call",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"customers (x {NODES_PER_CUSTOMER} nodes)")
        ax.set_ylabel("wall seconds")
        ax.set_title(f"`{op}`: provider vs direct httpx baseline (4 workers)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write_docs(block: str, path: Path) -> None:
    start, end = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
    text = path.read_text() if path.exists() else f"# Performance\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{block}{end}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,500", help="customers per fleet (x 2 nodes)")
    parser.add_argument("--quick", action="store_true", help="sizes 10,100 only")
    parser.add_argument("--latencies", default="0,50", help="emulator ms added to each call")
    parser.add_argument("--skip-rate-limited", action="store_true")
    parser.add_argument(
        "--idle-max",
        type=int,
        default=100,
        help="time a preview and an unchanged up only for fleets up to this size",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the 0 ms provider up")
    parser.add_argument("--profile-dir", type=Path, default=None)
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    args = parser.parse_args(argv)
    sizes = [10, 100] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    latencies = [float(s) for s in args.latencies.split(",") if s]
    command = "bench/provision.py " + " ".join(argv if argv is not None else sys.argv[1:])

    workdir = Path(tempfile.mkdtemp(prefix="plume-bench-"))
    profile_dir = args.profile_dir or workdir / "profiles"
    results: list[SizeResult] = []
    profile_notes: list[str] = []
    try:
        for latency in latencies:
            with EmulatorProcess(
                db_path=workdir / f"plume-{latency:g}.sqlite",
                reset=True,
                waf_limit=0,
                latency_ms=latency,
            ) as emulator:
                for size in sizes:
                    fleet = make_fleet(size, NODES_PER_CUSTOMER, prefix=f"BENCH{size}")
                    resources = size * (1 + NODES_PER_CUSTOMER)
                    base_up, base_destroy, base_mb = run_baseline(emulator, fleet)
                    profiling = args.profile and latency == 0 and size == max(sizes)
                    if profiling:
                        profile_dir.mkdir(parents=True, exist_ok=True)
                    prov = run_provider(emulator, fleet, workdir, idle_checks=size <= args.idle_max)
                    if profiling:
                        # A separate run: py-spy pauses the processes it samples, so the
                        # profiled run's times are not the ones reported.
                        profiled = run_provider(
                            emulator, fleet, workdir, profile_dir, idle_checks=False
                        )
                        print(
                            f"(profiled run, not reported: up {profiled['up'].seconds:.2f} s)",
                            flush=True,
                        )
                    result = SizeResult(
                        latency_ms=latency,
                        customers=size,
                        resources=resources,
                        baseline_up=base_up,
                        baseline_destroy=base_destroy,
                        provider_up=prov["up"],
                        provider_destroy=prov["destroy"],
                        provider_preview=prov["preview"],
                        provider_second_up=prov["second_up"],
                        host_start_seconds=prov["host_start"],
                        driver_peak_mb=prov["driver_peak_mb"],
                        host_peak_mb=prov["host_peak_mb"],
                        baseline_peak_mb=base_mb,
                    )
                    results.append(result)
                    print(
                        f"latency {latency:g} ms, {size} customers ({resources} resources): "
                        f"up {base_up.seconds:.2f} s direct vs {prov['up'].seconds:.2f} s "
                        f"provider (x{result.ratio('up'):.2f}, "
                        f"{result.overhead_ms('up'):+.2f} ms/op); destroy "
                        f"{base_destroy.seconds:.2f} vs {prov['destroy'].seconds:.2f} s "
                        f"(x{result.ratio('destroy'):.2f}, "
                        f"{result.overhead_ms('destroy'):+.2f} ms/op); API calls/resource "
                        f"up {prov['up'].api_calls / resources:.2f}, destroy "
                        f"{prov['destroy'].api_calls / resources:.2f}; tokens "
                        f"{prov['up'].tokens}+{prov['destroy'].tokens}; ms per op (direct / "
                        f"in provider / gRPC seen by engine): up {base_up.op_ms:.2f} / "
                        f"{prov['up'].provider_op_ms:.2f} / {prov['up'].op_ms:.2f}, destroy "
                        f"{base_destroy.op_ms:.2f} / {prov['destroy'].provider_op_ms:.2f} / "
                        f"{prov['destroy'].op_ms:.2f}; "
                        f"peak MB driver {prov['driver_peak_mb']:.0f}, host "
                        f"{prov['host_peak_mb']:.0f}",
                        flush=True,
                    )
                    if profiling:
                        for name in ("host", "driver"):
                            raw = profile_dir / f"{name}.raw"
                            areas = summarize_by_area(raw)
                            top = summarize_profile(raw)
                            note = [f"profile of the {name} during the 0 ms up of {size}:"]
                            note += [f"  {a}: {p:.1f} %" for a, p in areas.items()]
                            note += ["  busiest functions (self %, inclusive %):"]
                            note += [f"    {p:5.1f} {i:5.1f}  {n}" for n, p, i in top]
                            print("\n".join(note), flush=True)
                            profile_notes.append("\n".join(note))
        accounting: list[str] = []
        if 0.0 in latencies or not latencies:
            with EmulatorProcess(
                db_path=workdir / "calls.sqlite", reset=True, waf_limit=0
            ) as emulator:
                accounting = call_accounting(emulator, workdir)
            print("\n".join(accounting), flush=True)
        rate: RateResult | None = None
        if not args.skip_rate_limited:
            rate = run_rate_limited(workdir)
            print(
                f"rate-limited: {rate.requests} API requests ({rate.claims} claims) in "
                f"{rate.seconds:.1f} s = {rate.achieved:.2f} req/s against a limit of "
                f"{rate.limit:g} ({100 * rate.achieved / rate.limit:.0f} %); WAF 403s: "
                f"{rate.waf_403}; tokens: {rate.tokens}",
                flush=True,
            )
    finally:
        if args.profile_dir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(table(results))
    print(idle_table(results))
    for line in scaling_lines(results):
        print(line)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"results": [asdict(r) for r in results], "rate": asdict(rate) if rate else None},
                indent=1,
            )
        )
    if args.write_docs:
        png = DOCS / "provision-times.png"
        chart(results, png)
        block = (
            f"Command: `.venv/bin/python {command.strip()}` "
            f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}).\n\n"
            + table(results)
            + "\n"
            + idle_table(results)
            + "\n"
            + "".join(f"- {line}\n" for line in scaling_lines(results))
        )
        if accounting:
            block += (
                "\nAPI calls per resource operation (10 customers x 2 nodes, emulator stats):\n\n"
            )
            block += "".join(f"- {line}\n" for line in accounting)
        if rate is not None:
            block += (
                f"- rate-limited: {rate.requests} API requests ({rate.claims} claims, 4 threads, "
                f"one `PlumeClient`) in {rate.seconds:.1f} s = {rate.achieved:.2f} req/s for a "
                f"limit of {rate.limit:g} ({100 * rate.achieved / rate.limit:.0f} %); WAF 403s: "
                f"{rate.waf_403}; tokens: {rate.tokens}\n"
            )
        if profile_notes:
            block += "\n```\n" + "\n\n".join(profile_notes) + "\n```\n"
        block += f"\n![up and destroy time against fleet size]({png.name})\n"
        write_docs(block, DOCS / "performance.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
