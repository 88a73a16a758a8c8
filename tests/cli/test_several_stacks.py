"""Two stacks deployed at once through the real CLI share the machine's rate budget: a firewall
that blocks anything faster than the one budget's rate sees no excess and answers no 403; a
Redis budget that cannot be reached stops `up` before any request. (The rates achieved are
measured by bench/shared_budget.py; this asserts counts only.)"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from plume_emulator.testing import EmulatorServer
from plume_testkit.cli_lab import CliLab
from plume_testkit.cli_run import CliRun
from plume_testkit.ports import free_port

RATE = 5
"""Requests per second of each stack's settings (burst 1)."""
WAF_LIMIT, WAF_WINDOW = 25, 3.0
"""One budget sends at most 1 + 5 x 3 = 16 requests in any 3 s (and one OAuth token request
per stack); two budgets of their own would send up to 32: past 25, the firewall blocks."""


def _fleet(stack: int, customers: int) -> list[dict[str, Any]]:
    return [
        {
            "accountId": f"TWO-{stack}-{n:02d}",
            "nodes": [{"serialNumber": f"LAB-GW-{stack * customers + n + 1:04d}"}],
        }
        for n in range(customers)
    ]


def test_two_stacks_at_once_on_one_machine_share_one_budget_and_meet_no_firewall_block(
    pulumi_cli: Path, emulator_factory: Any, tmp_path: Path
) -> None:
    emulator: EmulatorServer = emulator_factory(waf_limit=WAF_LIMIT, waf_window=WAF_WINDOW)
    labs = []
    for stack in range(2):
        lab = CliLab(
            pulumi_cli,
            tmp_path / f"stack-{stack}",
            emulator,
            emulator.credentials("lab-partner"),
            stack=f"two{stack}",
        )
        lab.config["plume:requestsPerSecond"] = str(RATE)
        lab.config["plume:burst"] = "1"
        lab.set_customers(_fleet(stack, customers=12))
        labs.append(lab)
    emulator.reset_stats()
    runs: list[CliRun] = []
    threads = [threading.Thread(target=lambda lab=lab: runs.append(lab.up())) for lab in labs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(runs) == 2
    for run in runs:
        assert run.changes == {"create": 24}
    statuses = [row["status"] for row in emulator.stats()["requests"]]
    assert 403 not in statuses
    assert labs[0].partner()["licenses_in_use"] == 24
    for lab in labs:
        lab.close()


def test_an_unreachable_redis_budget_stops_the_up_in_one_line_before_any_request(
    cli_lab: CliLab,
) -> None:
    cli_lab.config["plume:requestsPerSecond"] = "6"
    cli_lab.config["plume:rateLimitUrl"] = f"redis://127.0.0.1:{free_port()}/0"
    cli_lab.emulator.reset_stats()
    run = cli_lab.up(check=False)
    assert run.returncode != 0
    line = "the shared rate budget's Redis redis://127.0.0.1:"
    assert line in run.output
    assert "nothing was sent to Plume" in run.output
    assert cli_lab.api_requests() == {}
    assert cli_lab.emulator.stats()["tokens_issued"] == 0
    assert cli_lab.claimed() == {}
