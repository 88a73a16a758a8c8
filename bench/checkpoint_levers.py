"""Checkpoint tax benchmark: what each lever the CLI offers does to the cost of a checkpointed
`up` and `destroy` (the stacks' default: the whole state rewritten after every step).

One fresh stack per lever, N customers x 2 nodes (default 200), against the emulator with no
rate limit and no latency, so the CLI's own CPU is what shows. Per lever: wall seconds and CPU
seconds of the CLI process for `up` and `destroy`, and the state's bytes per resource (compact
JSON, as the backends store it before any compression). Levers:

* `default`: checkpointed, as every stack runs;
* `--disable-integrity-checking`: skips the snapshot verification done twice per save (it
  catches engine bugs that would write a dangling reference);
* `PULUMI_DIY_BACKEND_GZIP`, `PULUMI_DIY_BACKEND_ZSTD`: the state compressed (less to write
  and, on PostgreSQL, far less for the server to parse and store; more CPU to compress);
* `PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS`: no copy under `.pulumi/backups` at the end;
* `PULUMI_SKIP_CHECKPOINTS` (reference): the state written once, at the end (no crash record).

`--postgres` runs every stack on a PostgreSQL server of its own (the team backend, a database
per lever) instead of the file backend, and adds the server's CPU seconds: there each save is
also base64-encoded into a JSON document the server parses and stores.

    .venv/bin/python bench/checkpoint_levers.py                   # 200 customers
    .venv/bin/python bench/checkpoint_levers.py --customers 500 --levers default,skip
    .venv/bin/python bench/checkpoint_levers.py --postgres --levers default,gzip
It prints numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.processes import ProcessSampler, tree_cpu_seconds  # noqa: E402
from bench.provision import (  # noqa: E402
    CliOptions,
    fleet,
    fleet_stack,
    inventory_file,
    measured,
)
from plume_emulator.testing import EmulatorProcess  # noqa: E402
from plume_testkit.cli import find_cli  # noqa: E402
from plume_testkit.postgres_server import PostgresServer  # noqa: E402

_databases = itertools.count(1)


@dataclass(frozen=True)
class Lever:
    """A way to run the CLI: extra environment and extra flags of `up` and `destroy`."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


LEVERS = {
    "default": Lever("default"),
    "integrity": Lever("--disable-integrity-checking", flags=("--disable-integrity-checking",)),
    "gzip": Lever("PULUMI_DIY_BACKEND_GZIP", env={"PULUMI_DIY_BACKEND_GZIP": "true"}),
    "zstd": Lever("PULUMI_DIY_BACKEND_ZSTD", env={"PULUMI_DIY_BACKEND_ZSTD": "true"}),
    "backups": Lever(
        "PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS",
        env={"PULUMI_DIY_BACKEND_DISABLE_CHECKPOINT_BACKUPS": "true"},
    ),
    "skip": Lever("PULUMI_SKIP_CHECKPOINTS (reference)", env={"PULUMI_SKIP_CHECKPOINTS": "true"}),
}


def run_lever(
    cli: Path,
    workdir: Path,
    emulator: EmulatorProcess,
    customers: int,
    lever: Lever,
    postgres: PostgresServer | None,
) -> str:
    """One table row: `up` and `destroy` of a fresh stack run with `lever` (on `postgres`, a
    database of its own, when given)."""
    emulator.reset()
    backend = None
    server_pid = None
    if postgres is not None:
        backend = postgres.new_database(f"lever_{next(_databases)}")
        server_pid = postgres.process.pid if postgres.process else None
    stack = fleet_stack(
        cli,
        workdir,
        "lever-",
        emulator,
        0,
        fleet(customers),
        CliOptions(skip_checkpoints=False),
        backend_url=backend,
    )
    stack.env.update(lever.env)
    ignore = [emulator.process.pid] if emulator.process else []
    cells: list[str] = []
    state_bytes = 0
    for verb in ("up", "destroy"):
        first = len(cells)
        emulator.reset_stats()
        server_before = tree_cpu_seconds(server_pid)
        with ProcessSampler(ignore=ignore) as processes:
            run = stack.operation(verb, *lever.flags, timeout=3600, events=False)
        phase = measured(emulator, run.seconds, processes)
        cells += [f"{phase.seconds:.1f}", f"{phase.cpu_seconds.get('cli', 0.0):.1f}"]
        if postgres is not None:
            cells.append(f"{tree_cpu_seconds(server_pid) - server_before:.1f}")
        if verb == "up":
            exported = json.loads(stack.pulumi("stack", "export", "--stack", "bench").stdout)
            state_bytes = len(json.dumps(exported, separators=(",", ":")).encode())
        print(f"    {lever.name} {verb}: " + ", ".join(cells[first:]), flush=True)
    per_resource = state_bytes / (customers * 3)
    return f"| {lever.name} | {' | '.join(cells)} | {per_resource:,.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--levers", default=",".join(LEVERS), help=f"of {', '.join(LEVERS)}")
    parser.add_argument(
        "--postgres", action="store_true", help="on a PostgreSQL server (the team backend)"
    )
    args = parser.parse_args()
    cli = find_cli()
    if cli is None:
        sys.exit("no pulumi CLI: run `make pulumi-cli` first")
    workdir = Path(tempfile.mkdtemp(prefix="plume-levers-"))
    inventory = inventory_file(workdir / "inventory.json", args.customers)
    server = " | PostgreSQL CPU s" if args.postgres else ""
    backend = "PostgreSQL" if args.postgres else "file"
    rows = [
        f"{args.customers} customers x 2 nodes, checkpointed unless said, no rate limit, "
        f"{backend} backend:",
        "",
        f"| lever | up wall s | up CLI CPU s{server} | destroy wall s | destroy CLI CPU s{server} "
        "| state B/res. |",
        "|---|" + "---:|" * (7 if args.postgres else 5),
    ]
    emulator = EmulatorProcess(inventory=inventory, waf_limit=0, latency_ms=0, reset=True)
    emulator.start()
    try:
        with PostgresServer() if args.postgres else nullcontext() as postgres:
            for key in filter(None, args.levers.split(",")):
                print(f"lever {LEVERS[key].name}", flush=True)
                rows.append(
                    run_lever(cli, workdir, emulator, args.customers, LEVERS[key], postgres)
                )
    finally:
        emulator.stop()
    print("\n".join(rows))


if __name__ == "__main__":
    main()
