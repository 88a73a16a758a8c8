"""Several stacks deployed at once: do they share one rate budget? Real `pulumi up` processes.

    .venv/bin/python bench/shared_budget.py                       # machine, process, redis
    .venv/bin/python bench/shared_budget.py --scopes process --waf-limit 200 --waf-window 30

Each scenario starts a fresh emulator (a subprocess, the WAF at `--waf-limit` per `--waf-window`,
by default Plume's real 2,000 per 300 s), then three stacks of `--customers` customers x 2 nodes
each, every one a real `pulumi up` (plume_testkit's `CliLab`: the real CLI, language host and
dynamic-provider host) at `plume:requestsPerSecond` 6, all started together:

* `machine`: the default scope, the three on one machine (one cache directory);
* `process`: each stack its own budget (what every `up` had before);
* `redis`: two simulated machines (separate cache directories) sharing one real `redis-server`:
  stacks 1 and 2 on machine A, stack 3 on machine B.

A sampler reads the emulator's request counts four times a second. Printed per scenario: the
combined rate at the emulator (requests between the first and the last one, over that time;
the OAuth token requests count, as they do at Plume's firewall), the busiest 10 s, the WAF's
403s, each stack's wall time and the fastest over the slowest. Then a shared block: one
process gets the WAF's 403 with `Retry-After: 3`; how long the next request of another
process, on the same machine budget, waits. It prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_testkit.cli import find_cli  # noqa: E402
from plume_testkit.cli_lab import CliLab  # noqa: E402
from plume_testkit.redis_server import RedisServer  # noqa: E402

STACKS = 3
SAMPLE_EVERY = 0.25


@dataclass
class Outcome:
    scope: str
    requests: int
    rate: float
    busiest_10s: float
    blocked: int
    durations: list[float]
    failed: list[str]


def fleet(stack: int, customers: int) -> list[dict[str, Any]]:
    """`customers` customers of one gateway and one extender each, disjoint across stacks."""
    fleet = []
    for n in range(customers):
        serial = stack * customers + n + 1
        fleet.append(
            {
                "accountId": f"BENCH-{stack}-{n:03d}",
                "nodes": [
                    {"serialNumber": f"LAB-GW-{serial:04d}"},
                    {"serialNumber": f"LAB-POD-{serial:04d}"},
                ],
            }
        )
    return fleet


def counts(emulator: EmulatorProcess) -> tuple[int, int]:
    """(requests the WAF saw, of them answered 403) so far."""
    rows = emulator.stats()["requests"]
    total = sum(r["count"] for r in rows if r["route"] != "<unmatched>")
    blocked = sum(r["count"] for r in rows if r["status"] == 403)
    return total, blocked


def run_scenario(
    scope: str, customers: int, rate: float, waf: tuple[int, float], redis_url: str | None
) -> Outcome:
    cli = find_cli()
    if cli is None:
        raise SystemExit("no Pulumi CLI: run `make pulumi-cli`")
    with tempfile.TemporaryDirectory(prefix=f"plume-bench-{scope}-") as tmp:
        root = Path(tmp)
        emulator = EmulatorProcess(reset=True, waf_limit=waf[0], waf_window=waf[1])
        emulator.start()
        try:
            labs = []
            for stack in range(STACKS):
                machine = "b" if scope == "redis" and stack == STACKS - 1 else "a"
                lab = CliLab(
                    cli,
                    root / f"stack-{stack}",
                    emulator,  # type: ignore[arg-type]
                    emulator.credentials("lab-partner"),
                    stack=f"bench{stack}",
                )
                lab.env["XDG_CACHE_HOME"] = str(root / f"machine-{machine}" / "cache")
                lab.config["plume:requestsPerSecond"] = str(rate)
                lab.config["plume:rateLimitScope"] = redis_url if scope == "redis" else scope
                lab.set_customers(fleet(stack, customers))
                labs.append(lab)
            emulator.reset_stats()

            samples: list[tuple[float, int, int]] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    total, blocked = counts(emulator)
                    samples.append((time.monotonic(), total, blocked))
                    done.wait(SAMPLE_EVERY)

            durations = [0.0] * STACKS
            failed: list[str] = []
            started = time.monotonic()

            def up(index: int) -> None:
                run = labs[index].up(check=False)
                durations[index] = time.monotonic() - started
                if run.returncode != 0:
                    failed.append(f"stack {index}: {run.output.strip().splitlines()[-1:]}")

            sampler = threading.Thread(target=sample)
            sampler.start()
            threads = [threading.Thread(target=up, args=(i,)) for i in range(STACKS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            done.set()
            sampler.join()
            total, blocked = counts(emulator)
            samples.append((time.monotonic(), total, blocked))
            for lab in labs:
                lab.close()
        finally:
            emulator.stop()
    return summarise(scope, samples, durations, failed)


def summarise(
    scope: str, samples: list[tuple[float, int, int]], durations: list[float], failed: list[str]
) -> Outcome:
    total, blocked = samples[-1][1], samples[-1][2]
    first = next(s for s in samples if s[1] > 0)
    last = next(s for s in samples if s[1] == total)
    rate = (total - first[1]) / (last[0] - first[0]) if last[0] > first[0] else float("nan")
    busiest = 0.0
    for i, (t0, n0, _) in enumerate(samples):
        for t1, n1, _ in samples[i + 1 :]:
            if t1 - t0 >= 10.0:
                busiest = max(busiest, (n1 - n0) / (t1 - t0))
                break
    return Outcome(scope, total, rate, busiest, blocked, durations, failed)


def shared_block(redis_url: str | None) -> dict[str, float]:
    """One process meets a 403 with Retry-After: 3; the next request of another waits how long?"""
    results = {}
    with tempfile.TemporaryDirectory(prefix="plume-bench-block-") as tmp:
        emulator = EmulatorProcess(reset=True)
        emulator.start()
        try:
            for scope in ["machine", "process"] + ([redis_url] if redis_url else []):
                lab = emulator.credentials("lab-partner")
                code = (
                    "import sys, time\n"
                    "from plume_provider.client import PlumeClient\n"
                    "from plume_provider.client.settings import PlumeSettings\n"
                    "s = PlumeSettings(api_url=sys.argv[1], token_url=sys.argv[2],\n"
                    "    client_id='lab-client', client_secret='lab-secret',\n"
                    "    partner_id='lab-partner', rate_limit_scope=sys.argv[3])\n"
                    "c = PlumeClient(s)\n"
                    "c.lookup_node('LAB-GW-0001')\n"  # the token, outside the measurement
                    "print('ready', flush=True); sys.stdin.readline()\n"
                    "t = time.time(); c.lookup_node('LAB-GW-0002')\n"
                    "print(t, time.time(), flush=True)\n"
                )
                env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
                argv = [sys.executable, "-c", code, lab.api_url, lab.token_url, scope]
                blocked, other = (
                    subprocess.Popen(
                        argv,
                        env=env,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        text=True,
                    )
                    for _ in range(2)
                )
                for process in (blocked, other):
                    assert process.stdout is not None
                    process.stdout.readline()
                emulator.set_faults(
                    [
                        {
                            "method": "GET",
                            "path": "/api/Partners/nodes/*",
                            "status": 403,
                            "times": 1,
                            "headers": {"Retry-After": "3"},
                        }
                    ]
                )
                assert blocked.stdin is not None
                assert other.stdin is not None
                blocked.stdin.write("go\n")
                blocked.stdin.flush()
                while emulator.stats()["faults_injected"] < 1:
                    time.sleep(0.01)
                time.sleep(0.2)  # the 403 on its way back to the blocked process
                other.stdin.write("go\n")
                other.stdin.flush()
                out_other, _ = other.communicate(timeout=60)
                out_blocked, _ = blocked.communicate(timeout=60)
                name = "redis" if scope == redis_url else scope
                blocked_at, blocked_done = map(float, out_blocked.split()[-2:])
                other_at, other_done = map(float, out_other.split()[-2:])
                results[f"{name}: blocked process, answered after"] = blocked_done - blocked_at
                results[f"{name}: other process, asked after"] = other_at - blocked_at
                results[f"{name}: other process, answered after"] = other_done - blocked_at
                emulator.clear_faults()
                emulator.reset_stats()
        finally:
            emulator.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scopes", default="machine,process,redis")
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--rate", type=float, default=6.0)
    parser.add_argument("--waf-limit", type=int, default=2000)
    parser.add_argument("--waf-window", type=float, default=300.0)
    parser.add_argument("--skip-block", action="store_true")
    args = parser.parse_args()
    scopes = args.scopes.split(",")
    print(
        f"{STACKS} stacks x {args.customers} customers x 2 nodes, real `pulumi up` each, "
        f"{args.rate:g} req/s per stack's settings, WAF {args.waf_limit} per "
        f"{args.waf_window:g} s"
    )
    redis_server = RedisServer().start() if "redis" in scopes or not args.skip_block else None
    try:
        url = redis_server.url if redis_server else None
        print(
            f"{'scope':8} {'requests':>8} {'req/s':>6} {'busiest 10 s':>12} {'403s':>5}  "
            "stack wall seconds      fastest/slowest"
        )
        for scope in scopes:
            outcome = run_scenario(
                scope, args.customers, args.rate, (args.waf_limit, args.waf_window), url
            )
            walls = " ".join(f"{d:6.1f}" for d in outcome.durations)
            print(
                f"{outcome.scope:8} {outcome.requests:8d} {outcome.rate:6.2f} "
                f"{outcome.busiest_10s:12.2f} {outcome.blocked:5d}  {walls}   "
                f"{min(outcome.durations) / max(outcome.durations):.2f}",
                flush=True,
            )
            for failure in outcome.failed:
                print(f"         failed: {failure}")
        if not args.skip_block:
            print("shared block (Retry-After: 3), seconds since the blocked request was sent:")
            for name, seconds in shared_block(url).items():
                print(f"  {name:42} {seconds:5.2f}")
    finally:
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    main()
