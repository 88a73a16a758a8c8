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
minute. `SOAK_FAULT_SEED` reproduces a run's fault draws (default 20240601).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer
from plume_testkit import HOSTHOOKS
from plume_testkit.enginedouble.engine import EngineDouble, RunResult
from plume_testkit.enginedouble.wire import PROVIDER_KEY
from plume_testkit.fleets import (
    LAB_CLIENT_ID,
    LAB_CLIENT_SECRET,
    make_fleet,
    provider_config,
    stack_config,
)
from tests.reliability.conftest import CapturingHost, TokenRecorder, api_calls, partner_state

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "__main__.py"

CUSTOMERS = 50
NODES_PER_CUSTOMER = 3
CLIENT_TIMEOUT_SECONDS = 1.0
DELAY_PAST_TIMEOUT_MS = 1600
MAX_RETRIES = 5
WAF_LIMIT = 60
WAF_WINDOW_SECONDS = 3.0

REGISTER = "/api/Customers/register"
CLAIM = "/api/Customers/{customerId}/locations/{locationId}/nodes"
ANY_API = "/api/*"

_RATES: list[dict[str, Any]] = [
    {"method": "POST", "path": CLAIM, "status": 503, "apply": True, "probability": 0.05},
    {"method": "POST", "path": CLAIM, "drop": True, "apply": True, "probability": 0.025},
    {"method": "POST", "path": CLAIM, "status": 504, "apply": True, "probability": 0.025},
    {"method": "POST", "path": REGISTER, "drop": True, "apply": True, "probability": 0.025},
    {"method": "POST", "path": REGISTER, "status": 504, "apply": True, "probability": 0.025},
    {"method": "*", "path": ANY_API, "delay_ms": DELAY_PAST_TIMEOUT_MS, "probability": 0.02},
    {"method": "*", "path": ANY_API, "status": 500, "probability": 0.10},
]
FAULT_RULES: list[dict[str, Any]] = [
    # The first rule that fires wins. 50 registers at 2.5 % may draw no fault at all, so each
    # kind also fires once for sure (`times: 1`), then at its stated rate.
    *({k: v for k, v in rule.items() if k != "probability"} | {"times": 1} for rule in _RATES),
    *_RATES,
]

BASIC_VALUE = base64.b64encode(f"{LAB_CLIENT_ID}:{LAB_CLIENT_SECRET}".encode()).decode()
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


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


def _waf_blocks(stats: dict[str, Any]) -> int:
    return sum(
        row["count"]
        for row in stats["requests"]
        if row["status"] == 403 and str(row["route"]).startswith(("/api", "/oauth2"))
    )


def _errors(result: RunResult) -> list[str]:
    return [str(error) for error in result.errors]


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> SoakRun:
    seed = int(os.environ.get("SOAK_FAULT_SEED", "20240601"))
    workdir = tmp_path_factory.mktemp("soak")
    fleet = make_fleet(CUSTOMERS, NODES_PER_CUSTOMER, prefix="SOAK")
    config = stack_config(
        fleet,
        provider_config(
            "http://placeholder/api",
            "http://placeholder/oauth2/token",
            timeout_seconds=CLIENT_TIMEOUT_SECONDS,
            max_retries=MAX_RETRIES,
        ),
    )
    collector = _Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    host = CapturingHost(extra_paths=[HOSTHOOKS], env={"RELIABILITY_HOST_LOG_LEVEL": "DEBUG"})
    with (
        EmulatorServer(
            workdir / "plume.sqlite",
            waf_limit=WAF_LIMIT,
            waf_window=WAF_WINDOW_SECONDS,
            fault_seed=seed,
        ) as emulator,
        host,
    ):
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

            # A request delayed by a fault is answered up to DELAY_PAST_TIMEOUT_MS after the
            # client gave up on it; let those stragglers land before counting the second up.
            time.sleep(DELAY_PAST_TIMEOUT_MS / 1000 + 0.5)
            emulator.reset_stats()
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
        waf_blocks=_waf_blocks(stats),
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
    fired = ", ".join(
        f"{rule['method']} {rule['path']} "
        f"{'drop' if rule['drop'] else rule['status'] or 'delay'}"
        f"{' (applied)' if rule['apply'] else ''}: {rule['fired']}"
        for rule in faults
    )
    print(
        f"\nsoak (seed {seed}): up of {CUSTOMERS}x{NODES_PER_CUSTOMER} in {up_seconds:.1f} s; "
        f"{run.faults_injected} faults injected and {run.waf_blocks} WAF blocks, all survived "
        f"[{fired}]; second up {second_up.duration:.1f} s; destroy {destroy.duration:.1f} s"
    )
    return run


def _resources(checkpoint: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in checkpoint.get("resources", []) if r.get("type", "").endswith(kind)]


# -- one up under faults ----------------------------------------------------------------------


def test_first_up_under_faults_succeeds_without_errors(soak: SoakRun) -> None:
    assert soak.first_up.errors == [], "\n".join(_errors(soak.first_up))
    assert soak.first_up.counts == {"create": CUSTOMERS * (1 + NODES_PER_CUSTOMER)}


def test_first_up_ends_with_exactly_the_declared_fleet(soak: SoakRun) -> None:
    customers = soak.after_up["customers"]
    account_ids = [c["accountId"] for c in customers]
    assert len(customers) == CUSTOMERS
    assert not [a for a, n in Counter(account_ids).items() if n > 1], "duplicate accounts"
    assert sorted(account_ids) == sorted(c["accountId"] for c in soak.fleet)

    declared = {
        node["serialNumber"]: spec["accountId"] for spec in soak.fleet for node in spec["nodes"]
    }
    by_id = {c["id"]: c for c in customers}
    claimed = soak.after_up["claimed_nodes"]
    assert len(claimed) == CUSTOMERS * NODES_PER_CUSTOMER
    assert {n["serialNumber"] for n in claimed} == set(declared)
    for node in claimed:
        owner = by_id.get(node["customerId"])
        assert owner is not None, f"{node['serialNumber']} claimed by an unknown customer"
        assert owner["accountId"] == declared[node["serialNumber"]], node
        assert node["locationId"] in {loc["id"] for loc in owner["locations"]}, node
    assert soak.after_up["licenses_in_use"] == CUSTOMERS * NODES_PER_CUSTOMER


def test_saved_state_agrees_with_the_emulator(soak: SoakRun) -> None:
    live = {c["accountId"]: c for c in soak.after_up["customers"]}
    claims = {n["serialNumber"]: n for n in soak.after_up["claimed_nodes"]}
    saved_customers = _resources(soak.checkpoint_after_up, "plume:Customer")
    saved_nodes = _resources(soak.checkpoint_after_up, "plume:Node")
    assert len(saved_customers) == CUSTOMERS
    assert len(saved_nodes) == CUSTOMERS * NODES_PER_CUSTOMER
    for resource in saved_customers:
        outs = resource["outputs"]
        customer = live[outs["accountId"]]
        assert resource["id"] == outs["customerId"] == customer["id"]
        assert outs["locationId"] == customer["locations"][0]["id"]
    for resource in saved_nodes:
        outs = resource["outputs"]
        claim = claims[resource["id"]]
        assert outs["serialNumber"] == resource["id"]
        assert (outs["customerId"], outs["locationId"]) == (
            claim["customerId"],
            claim["locationId"],
        )


def test_faults_were_injected_and_survived(soak: SoakRun) -> None:
    never_fired = [
        rule for rule in soak.faults if rule["fired"] == 0 and rule["probability"] is None
    ]
    assert not never_fired, f"these fault rules never fired, so they were not tested: {never_fired}"
    assert soak.faults_injected >= 40
    assert soak.waf_blocks > 0, "the WAF never blocked: raise the request rate or lower the limit"
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
    assert soak.after_destroy["customers"] == []
    assert soak.after_destroy["claimed_nodes"] == []
    assert soak.after_destroy["licenses_in_use"] == 0


def test_failing_up_reports_the_serial_and_cleans_up(soak: SoakRun) -> None:
    messages = _errors(soak.failing_up)
    assert messages, "an unknown serial must fail the up"
    assert any("NOT-IN-INVENTORY-1" in message for message in messages), messages
    assert soak.cleanup.ok, _errors(soak.cleanup)


# -- secrets audit --------------------------------------------------------------------------


def _provider_blobs(checkpoint: dict[str, Any]) -> list[str]:
    blobs: set[str] = set()
    for resource in checkpoint.get("resources", []):
        for props in (resource.get("inputs", {}), resource.get("outputs", {})):
            blob = props.get(PROVIDER_KEY)
            if isinstance(blob, str):
                blobs.add(blob)
    return sorted(blobs)


def _decoded(blob: str) -> str:
    return base64.b64decode(blob).decode("latin-1")


def _leaks(text: str, tokens: list[str]) -> list[str]:
    found = [
        label
        for label, secret in [
            ("client secret", LAB_CLIENT_SECRET),
            ("Basic value", BASIC_VALUE),
            *((f"access token #{i}", t) for i, t in enumerate(tokens)),
        ]
        if secret in text
    ]
    found += [f"JWT-shaped string {m[:12]}..." for m in JWT_SHAPE.findall(text)]
    return found


def test_audit_has_material(soak: SoakRun) -> None:
    # The audit below is only meaningful if it saw what it claims to search.
    assert soak.issued_tokens
    assert _provider_blobs(soak.checkpoint_after_up)
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
        "provider blobs": [_decoded(b) for b in _provider_blobs(soak.checkpoint_after_up)],
        "host log": soak.host_lines,
        "test log": soak.test_lines,
        "error messages": soak.error_messages,
    }[where]
    leaks = {leak for text in texts for leak in _leaks(text, soak.issued_tokens)}
    assert not leaks, f"{where} leaks: {sorted(leaks)}"
