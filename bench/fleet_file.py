"""Fleet file validation benchmark: write a CRM-shaped CSV of N customers (default 10,000; two
node rows for every other customer) and time `load_fleet` on it, as the program does before any
resource is declared. Prints wall and CPU times (CPU is what a busy machine does not inflate);
asserts nothing.

    .venv/bin/python bench/fleet_file.py              # 10,000 customers, best of 3
    .venv/bin/python bench/fleet_file.py --customers 50000 --format yaml
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from plume_provider.fleet import load_fleet, write_fleet_file  # noqa: E402


def customers(count: int) -> list[dict[str, object]]:
    fleet: list[dict[str, object]] = []
    for i in range(count):
        customer: dict[str, object] = {
            "accountId": f"CRM-{i:06d}",
            "name": f"Customer {i}",
            "email": f"customer.{i}@example.org",
            "wave": 1 + i % 4,
        }
        if i % 2 == 0:
            customer["nodes"] = [
                {"serialNumber": f"GW-{i:06d}", "nickname": "Living room"},
                {"serialNumber": f"POD-{i:06d}", "nickname": "Study"},
            ]
        fleet.append(customer)
    return fleet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "yaml", "json"), default="csv")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fleet.{args.format}"
        write_fleet_file(path, customers(args.customers))
        rows = len(path.read_text().splitlines())
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            fleet = load_fleet({"fleetFile": path.name}, root=Path(tmp))
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        nodes = sum(len(c.nodes) for c in fleet.customers)
        print(
            f"validated {len(fleet.customers):,} customers and {nodes:,} nodes "
            f"({args.format}, {rows:,} lines): best {min(times):.3f} s, "
            f"worst {max(times):.3f} s over {args.repeat} runs (CPU: best {min(cpu):.3f} s)"
        )


if __name__ == "__main__":
    main()
