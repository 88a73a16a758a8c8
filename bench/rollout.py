"""Rollout benchmark: one fleet of many customers in shards, one checkpointed stack per shard on
the PostgreSQL team backend, brought up by `plume-fleet rollout up` (a real process on the
Automation API, the real CLI under it) against the emulator with the rate limit and firewall
scaled: the client's budget at `--rate` requests/s (30: five times Plume's 6) shared by every
stack of the machine, the firewall at `--waf-limit` per `--waf-window` s (10,000 per 300 s).

    .venv/bin/python bench/rollout.py                                  # 10,000 x 2, shards of 250
    .venv/bin/python bench/rollout.py --customers 400 --shard-size 100 # a quick run
    .venv/bin/python bench/rollout.py --destroy                        # then rollout destroy

It prints the wall time against calls / rate + start-up, the firewall's 403s (the target is 0),
the peak memory and the CPU seconds per process kind (the rollout, and the CLIs, language
hosts, programs and provider hosts of every stack together), and per-stack seconds. It asserts
nothing.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.processes import ProcessSampler, machine_busy_seconds, tree_cpu_seconds  # noqa: E402
from bench.provision import (  # noqa: E402
    CLIENT_ID,
    CLIENT_SECRET,
    PARTNER,
    PASSPHRASE,
    fleet,
    inventory_file,
    measured,
)
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_provider.fleet import write_fleet_file  # noqa: E402
from plume_testkit.cli import VENV, copy_project, find_cli, offline_env  # noqa: E402
from plume_testkit.postgres_server import PostgresServer  # noqa: E402

FLEET_FILE = "fleets/rollout.json"
WALL_TARGET = 1.05


def shard_of(index: int, shard_size: int) -> str:
    return f"shard-{(index - 1) // shard_size + 1:03d}"


def sharded_fleet(customers: int, shard_size: int) -> list[dict[str, Any]]:
    return [
        {**customer, "shard": shard_of(i, shard_size)}
        for i, customer in enumerate(fleet(customers), start=1)
    ]


@dataclass
class Project:
    """A copy of the project with one stack per shard, on one PostgreSQL backend."""

    root: Path
    env: dict[str, str]
    cli: Path
    shards: list[str]
    rate: float

    @property
    def project(self) -> Path:
        return self.root / "project"

    def pulumi(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.cli), *args, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args[:3])} failed: {done.stderr[-2000:]}")


def make_project(
    workdir: Path, cli: Path, backend: str, emulator: EmulatorProcess, args: argparse.Namespace
) -> Project:
    root = Path(tempfile.mkdtemp(prefix="rollout-", dir=workdir))
    copy_project(root / "project")
    for name in ("home", "state"):
        (root / name).mkdir()
    env = offline_env(cli, root / "home", root / "state", PASSPHRASE, backend_url=backend)
    customers = sharded_fleet(args.customers, args.shard_size)
    shards = sorted({c["shard"] for c in customers})
    project = Project(root, env, cli, shards, args.rate)
    write_fleet_file(project.project / FLEET_FILE, customers)
    config = {
        "plume:apiUrl": emulator.api_url,
        "plume:tokenUrl": emulator.token_url,
        "plume:partnerId": PARTNER,
        "plume:clientId": CLIENT_ID,
        "plume:requestsPerSecond": f"{args.rate:g}",
        "plume-fleet:fleetFile": FLEET_FILE,
    }
    for shard in shards:
        project.pulumi("stack", "init", shard)
        stack_file = project.project / "stacks" / f"Pulumi.{shard}.yaml"
        document = yaml.safe_load(stack_file.read_text()) or {}
        document["config"] = {**config, "plume-fleet:shard": shard}
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
        project.pulumi(
            "config", "set", "--secret", "plume:clientSecret", CLIENT_SECRET, "--stack", shard
        )
    return project


class FirstRequest(threading.Thread):
    """When the emulator saw its first API request: the rollout's start-up ends there (the
    stacks' CLIs, programs and providers started, the first token fetched)."""

    def __init__(self, emulator: EmulatorProcess, started: float) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.started = started
        self.seconds: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            requests = self.emulator.stats()["requests"]
            if any(str(row["route"]).startswith("/api") for row in requests):
                self.seconds = time.perf_counter() - self.started
                return


class PeakOf(threading.Thread):
    """Peak resident memory (MiB) and CPU seconds of one process (the rollout itself)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0.0
        self.cpu = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss / 2**20)
                times = self.process.cpu_times()
                self.cpu = times.user + times.system
            except psutil.Error:
                return


def rollout(
    project: Project,
    verb: str,
    parallel: int,
    emulator: EmulatorProcess,
    postgres_pid: int | None,
) -> None:
    results = project.root / f"rollout-{verb}.csv"
    argv = [
        str(VENV / "bin" / "plume-fleet"),
        "rollout",
        verb,
        "--fleet-file",
        FLEET_FILE,
        "-k",
        str(parallel),
        "--no-live",
        "--csv",
        str(results),
    ]
    ignore = [emulator.process.pid] if emulator.process else []
    emulator.reset_stats()
    emulator_pid = emulator.process.pid if emulator.process else None
    servers_before = {
        "PostgreSQL": tree_cpu_seconds(postgres_pid),
        "emulator": tree_cpu_seconds(emulator_pid),
    }
    busy_before = machine_busy_seconds()
    started = time.perf_counter()
    first = FirstRequest(emulator, started)
    first.start()
    with ProcessSampler(ignore=ignore) as processes:
        process = subprocess.Popen(
            argv, cwd=project.project, env=project.env, stdout=subprocess.PIPE, text=True
        )
        processes.ignore.add(process.pid)
        own = PeakOf(process.pid)
        own.start()
        out, _ = process.communicate()
        own.done.set()
        own.join()
        first.done.set()
        first.join()
    seconds = time.perf_counter() - started
    busy = machine_busy_seconds() - busy_before
    servers = {
        "PostgreSQL": tree_cpu_seconds(postgres_pid) - servers_before["PostgreSQL"],
        "emulator": tree_cpu_seconds(emulator_pid) - servers_before["emulator"],
    }
    phase = measured(emulator, seconds, processes)
    with results.open() as rows:
        stacks = list(csv.DictReader(rows))
    failed = [row["stack"] for row in stacks if row["state"] != "done"]
    floor = phase.api_calls / project.rate
    startup = first.seconds or 0.0
    print(f"rollout {verb}: {len(stacks)} stacks, {len(failed)} not done {failed or ''}")
    print(
        f"  wall {seconds:.0f} s; {phase.api_calls} calls / {project.rate:g} req/s = "
        f"{floor:.0f} s; wall / (calls/rate + start-up) = {seconds / (floor + startup):.3f} "
        f"(target <= {WALL_TARGET}; start-up: {startup:.1f} s to the first API request)"
    )
    print(f"  firewall 403s: {phase.status_403}; tokens issued: {phase.tokens}")
    peaks = {"rollout": own.peak, **phase.memory_mb}
    cpu = {"rollout": own.cpu, **phase.cpu_seconds, **servers}
    cores = psutil.cpu_count() or 1
    print("  peak MiB per process kind: " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    print("  CPU s per process kind: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    print(
        f"  machine busy: {busy:.0f} CPU s of the {cores * seconds:.0f} its {cores} cores had "
        f"({100 * busy / (cores * seconds):.0f} %); sampled above: {sum(cpu.values()):.0f}"
    )
    per_stack = sorted(float(row["seconds"]) for row in stacks)
    if per_stack:
        print(
            f"  per stack: {per_stack[0]:.0f}..{per_stack[-1]:.0f} s, median "
            f"{per_stack[len(per_stack) // 2]:.0f} s"
        )
    if process.returncode != 0:
        print(out[-2000:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--shard-size", type=int, default=250)
    parser.add_argument("-k", "--parallel", type=int, default=4, help="stacks at a time")
    parser.add_argument("--rate", type=float, default=30.0, help="client requests/s, shared")
    parser.add_argument("--waf-limit", type=int, default=10_000)
    parser.add_argument("--waf-window", type=int, default=300)
    parser.add_argument("--destroy", action="store_true", help="then rollout destroy")
    args = parser.parse_args(argv)
    cli = find_cli()
    if cli is None:
        print("no Pulumi CLI: run `make pulumi-cli`", file=sys.stderr)
        return 2
    print(
        f"rollout benchmark: {args.customers} customers x 2 nodes in shards of "
        f"{args.shard_size}, {args.parallel} stacks at a time, {args.rate:g} req/s shared, "
        f"firewall {args.waf_limit} per {args.waf_window} s, checkpointed, PostgreSQL backend",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="plume-rollout-bench-") as tmp:
        workdir = Path(tmp)
        inventory = inventory_file(workdir / "inventory.json", args.customers)
        emulator = EmulatorProcess(
            inventory=inventory, waf_limit=args.waf_limit, waf_window=args.waf_window, reset=True
        )
        with PostgresServer() as postgres, emulator:
            postgres_pid = postgres.process.pid if postgres.process else None
            started = time.perf_counter()
            project = make_project(workdir, cli, postgres.url, emulator, args)
            print(
                f"  {len(project.shards)} stacks created in {time.perf_counter() - started:.0f} s"
            )
            rollout(project, "up", args.parallel, emulator, postgres_pid)
            if args.destroy:
                rollout(project, "destroy", args.parallel, emulator, postgres_pid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
