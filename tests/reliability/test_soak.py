"""Fault soak: 50 customers x 3 nodes through the whole lifecycle against a hostile API.

The real program (`__main__.py`) runs under the engine double, every resource operation goes
through the real dynamic-provider host, and the emulator misbehaves the way a pilot's remote
API does: 10 % of calls answer 500, 5 % of claims answer 503 after claiming, 5 % of registers
and claims are performed and then answered with a dropped connection or a 504, 2 % of calls
are delayed past the client timeout (and performed late), and the WAF blocks past a low
request rate. The module runs the lifecycle once (`soak` fixture) and each test asserts one
thing a user relies on:

* one `up` ends with exactly the declared fleet, and the saved state agrees with Plume;
* the faults really happened (every rule fired, the WAF blocked) and were survived;
* a second `up` makes no mutating call; `destroy` leaves nothing behind;
* no secret (client secret, Basic value, any issued token) is in the state, the provider
  blobs, the host's log lines, the test's log records or any error message.

Retries use the client's real backoff (it is not configurable), so the soak takes about a
minute. The plan (fleet, faults, seed) and the checks are shared with the same soak under the
real CLI (`tests/cli/test_soak.py`) in `fault_soak.py`; `SOAK_FAULT_SEED` reproduces a run's
fault draws (default 20240601).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plume_testkit import HOSTHOOKS
from plume_testkit.enginedouble.engine import EngineDouble, RunResult
from plume_testkit.fleets import stack_config
from tests.reliability.conftest import CapturingHost, TokenRecorder, api_calls, partner_state
from tests.reliability.fault_soak import (
    CUSTOMERS,
    FAULT_RULES,
    NODES_PER_CUSTOMER,
    assert_declared_fleet,
    assert_faults_met,
    assert_nothing_left,
    assert_state_agrees,
    decoded,
    fault_seed,
    fired_summary,
    leaks,
    provider_blobs,
    soak_emulator,
    soak_fleet,
    soak_provider_config,
    waf_blocks,
    wait_until_idle,
)

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "__main__.py"


class _Collector(logging.Handler):
    """Keeps every formatted record (with tracebacks) logged in the test process."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class SoakRun:
    """Everything the lifecycle produced, for the tests to inspect."""

    fleet: list[dict[str, Any]]
    seed: int
    first_up: RunResult
    after_up: dict[str, Any]
    checkpoint_after_up: dict[str, Any]
    state_text_after_up: str
    up_seconds: float
    faults: list[dict[str, Any]]
    faults_injected: int
    waf_blocks: int
    tokens_issued_up: int
    second_up: RunResult
    second_up_stats: dict[str, Any]
    destroy: RunResult
    after_destroy: dict[str, Any]
    failing_up: RunResult
    cleanup: RunResult
    issued_tokens: list[str]
    host_lines: list[str]
    test_lines: list[str]
    error_messages: list[str] = field(default_factory=list)


def _errors(result: RunResult) -> list[str]:
    return [str(error) for error in result.errors]


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> SoakRun:
    seed = fault_seed()
    workdir = tmp_path_factory.mktemp("soak")
    fleet = soak_fleet()
    config = stack_config(
        fleet, soak_provider_config("http://placeholder/api", "http://placeholder/oauth2/token")
    )
    collector = _Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    host = CapturingHost(extra_paths=[HOSTHOOKS], env={"RELIABILITY_HOST_LOG_LEVEL": "DEBUG"})
    with soak_emulator(workdir / "plume.sqlite", seed) as emulator, host:
        recorder = TokenRecorder(emulator)
        config.update({"plume:apiUrl": emulator.api_url, "plume:tokenUrl": emulator.token_url})
        state_path = workdir / "state.json"
        engine = EngineDouble(PROGRAM, config, state_path, host=host, parallelism=4)
        try:
            emulator.set_faults(FAULT_RULES)
            started = time.monotonic()
            first_up = engine.up(raise_on_error=False)
            up_seconds = time.monotonic() - started
            after_up = partner_state(emulator)
            state_text_after_up = state_path.read_text() if state_path.exists() else "{}"
            stats = emulator.stats()
            faults = emulator.http.get("/_emulator/faults").json()["rules"]

            # Stragglers (requests delayed past the client's timeout) land before the count.
            wait_until_idle(emulator)
            second_up = engine.up(raise_on_error=False)
            second_up_stats = emulator.stats()

            destroy = engine.destroy(raise_on_error=False)
            emulator.clear_faults()
            after_destroy = partner_state(emulator)

            # A run that fails on purpose (a serial Plume does not know): its error message,
            # with the provider's whole traceback, joins the audit.
            broken = [
                {
                    "accountId": "SOAK-BROKEN-1",
                    "name": "Broken",
                    "nodes": [{"serialNumber": "NOT-IN-INVENTORY-1"}],
                }
            ]
            failing = EngineDouble(
                PROGRAM,
                {**config, "plume-fleet:customers": json.dumps(broken)},
                workdir / "failing.json",
                host=host,
            )
            failing_up = failing.up(raise_on_error=False)
            cleanup = failing.destroy(raise_on_error=False)
        finally:
            recorder.stop()
            root.removeHandler(collector)
            root.setLevel(old_level)

    error_messages: list[str] = []
    for result in (first_up, second_up, destroy, failing_up, cleanup):
        error_messages += _errors(result)
    run = SoakRun(
        fleet=fleet,
        seed=seed,
        first_up=first_up,
        after_up=after_up,
        checkpoint_after_up=json.loads(state_text_after_up),
        state_text_after_up=state_text_after_up,
        up_seconds=up_seconds,
        faults=faults,
        faults_injected=int(stats["faults_injected"]),
        waf_blocks=waf_blocks(stats),
        tokens_issued_up=int(stats["tokens_issued"]),
        second_up=second_up,
        second_up_stats=second_up_stats,
        destroy=destroy,
        after_destroy=after_destroy,
        failing_up=failing_up,
        cleanup=cleanup,
        issued_tokens=list(recorder.issued),
        host_lines=list(host.stderr_lines),
        test_lines=list(collector.lines),
        error_messages=error_messages,
    )
    fired = fired_summary(faults)
    print(
        f"\nsoak (seed {seed}): up of {CUSTOMERS}x{NODES_PER_CUSTOMER} in {up_seconds:.1f} s; "
        f"{run.faults_injected} faults injected and {run.waf_blocks} WAF blocks, all survived "
        f"[{fired}]; second up {second_up.duration:.1f} s; destroy {destroy.duration:.1f} s"
    )
    return run


# -- one up under faults ----------------------------------------------------------------------


def test_first_up_under_faults_succeeds_without_errors(soak: SoakRun) -> None:
    assert soak.first_up.errors == [], "\n".join(_errors(soak.first_up))
    assert soak.first_up.counts == {"create": CUSTOMERS * (1 + NODES_PER_CUSTOMER)}


def test_first_up_ends_with_exactly_the_declared_fleet(soak: SoakRun) -> None:
    assert_declared_fleet(soak.after_up, soak.fleet)


def test_saved_state_agrees_with_the_emulator(soak: SoakRun) -> None:
    assert_state_agrees(soak.checkpoint_after_up.get("resources", []), soak.after_up, soak.fleet)


def test_faults_were_injected_and_survived(soak: SoakRun) -> None:
    assert_faults_met(soak.faults, soak.faults_injected, soak.waf_blocks)
    assert soak.first_up.ok


def test_one_token_per_host_process(soak: SoakRun) -> None:
    # The host process lives for the whole lifecycle and the token lasts 10 minutes.
    assert soak.tokens_issued_up == 1
    assert len(soak.issued_tokens) == 1


# -- idempotence and teardown ---------------------------------------------------------------


def test_second_up_changes_nothing(soak: SoakRun) -> None:
    assert soak.second_up.errors == [], "\n".join(_errors(soak.second_up))
    assert soak.second_up.changes == {}
    assert soak.second_up.mutating_calls == []
    assert api_calls(soak.second_up_stats, mutating_only=True) == 0


def test_destroy_under_faults_leaves_nothing(soak: SoakRun) -> None:
    assert soak.destroy.errors == [], "\n".join(_errors(soak.destroy))
    assert_nothing_left(soak.after_destroy)


def test_failing_up_reports_the_serial_and_cleans_up(soak: SoakRun) -> None:
    messages = _errors(soak.failing_up)
    assert messages, "an unknown serial must fail the up"
    assert any("NOT-IN-INVENTORY-1" in message for message in messages), messages
    assert soak.cleanup.ok, _errors(soak.cleanup)


# -- secrets audit --------------------------------------------------------------------------


def test_audit_has_material(soak: SoakRun) -> None:
    # The audit below is only meaningful if it saw what it claims to search.
    assert soak.issued_tokens
    assert provider_blobs(soak.checkpoint_after_up.get("resources", []))
    assert any("retry" in line for line in soak.host_lines), "host log lines were not captured"
    assert soak.test_lines
    assert soak.error_messages


@pytest.mark.parametrize(
    "where",
    ["saved state", "provider blobs", "host log", "test log", "error messages"],
)
def test_no_secret_leaks(soak: SoakRun, where: str) -> None:
    texts = {
        "saved state": [soak.state_text_after_up],
        "provider blobs": [
            decoded(b) for b in provider_blobs(soak.checkpoint_after_up.get("resources", []))
        ],
        "host log": soak.host_lines,
        "test log": soak.test_lines,
        "error messages": soak.error_messages,
    }[where]
    found = leaks(texts, soak.issued_tokens)
    assert not found, f"{where} leaks: {found}"
