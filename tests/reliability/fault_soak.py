"""The fault soak's plan and checks, shared by its two runs: under the engine double
(`tests/reliability/test_soak.py`, the fast copy) and under the real CLI (`tests/cli/test_soak.py`).

One place for what both must agree on: the fleet (50 customers x 3 nodes), the client settings
(1 s timeout, 5 retries), the hostile emulator (fault rules, seed, WAF), and what a user relies on
afterwards (exactly the declared fleet, a saved state that agrees with Plume, every fault rule
fired, nothing left after destroy, no secret in what was saved or printed). Each run gathers its
own material; the assertions about it are here.

`SOAK_FAULT_SEED` reproduces a run's fault draws (default 20240601).
"""

from __future__ import annotations

import base64
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from plume_emulator.testing import EmulatorServer, wait_until
from plume_testkit.enginedouble.wire import PROVIDER_KEY
from plume_testkit.fleets import LAB_CLIENT_ID, LAB_CLIENT_SECRET, make_fleet, provider_config

__all__ = [
    "BASIC_VALUE",
    "CUSTOMERS",
    "DELAY_PAST_TIMEOUT_MS",
    "FAULT_RULES",
    "NODES_PER_CUSTOMER",
    "REGISTER",
    "assert_declared_fleet",
    "assert_faults_met",
    "assert_nothing_left",
    "assert_state_agrees",
    "decoded",
    "fault_seed",
    "fired_summary",
    "leaks",
    "provider_blobs",
    "rules_never_fired",
    "saved_of_type",
    "soak_emulator",
    "soak_fleet",
    "soak_provider_config",
    "waf_blocks",
    "wait_until_idle",
]

CUSTOMERS = 50
NODES_PER_CUSTOMER = 3
CLIENT_TIMEOUT_SECONDS = 1.0
DELAY_PAST_TIMEOUT_MS = 1600
MAX_RETRIES = 5
WAF_LIMIT = 60
WAF_WINDOW_SECONDS = 3.0
DEFAULT_SEED = 20240601
MIN_FAULTS = 40
"""Faults a soak's first up must meet at least (about 60 are drawn at these rates)."""

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


def fault_seed() -> int:
    """The seed of the emulator's fault draws: `SOAK_FAULT_SEED`, else the default."""
    return int(os.environ.get("SOAK_FAULT_SEED", str(DEFAULT_SEED)))


def soak_fleet() -> list[dict[str, Any]]:
    """50 customers (`SOAK-0001`...) of 3 nodes each, every serial used once."""
    return make_fleet(CUSTOMERS, NODES_PER_CUSTOMER, prefix="SOAK")


def soak_provider_config(api_url: str, token_url: str) -> dict[str, str]:
    """The `plume:*` config of the soak: a 1 s client timeout, 5 retries, no client limiter."""
    return provider_config(
        api_url, token_url, timeout_seconds=CLIENT_TIMEOUT_SECONDS, max_retries=MAX_RETRIES
    )


def soak_emulator(db_path: Path, seed: int) -> EmulatorServer:
    """An emulator (not started) whose WAF blocks past 60 requests in 3 s; faults drawn from
    `seed`. The rules themselves are set once the stack is ready (`FAULT_RULES`)."""
    return EmulatorServer(
        db_path, waf_limit=WAF_LIMIT, waf_window=WAF_WINDOW_SECONDS, fault_seed=seed
    )


def wait_until_idle(emulator: EmulatorServer, timeout: float = 30.0) -> None:
    """Wait until no API request is in flight at the emulator (a request delayed by a fault is
    answered up to DELAY_PAST_TIMEOUT_MS after the client gave up on it), so a later count
    starts clean. Zeroes the stats: a reset sets the in-flight peak to what is in flight now."""

    def idle() -> bool:
        emulator.reset_stats()
        return int(emulator.stats()["in_flight_peak"]) == 0

    wait_until(
        idle,
        alive=lambda: emulator.app is not None,
        timeout=timeout,
        interval=0.1,
        exited="the emulator was stopped",
        timed_out=f"requests still in flight at the emulator after {timeout:g} s",
    )


# -- what the faults did ----------------------------------------------------------------------


def waf_blocks(stats: dict[str, Any]) -> int:
    """The firewall's 403s in `GET /_emulator/stats` (API and token endpoint)."""
    return sum(
        row["count"]
        for row in stats["requests"]
        if row["status"] == 403 and str(row["route"]).startswith(("/api", "/oauth2"))
    )


def rules_never_fired(faults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sure-to-fire rules (`times: 1`, no probability) that did not fire: untested kinds."""
    return [rule for rule in faults if rule["fired"] == 0 and rule["probability"] is None]


def assert_faults_met(faults: list[dict[str, Any]], injected: int, blocked: int) -> None:
    """Every kind of fault hit the run (each sure-to-fire rule fired), many faults were
    injected, and the WAF blocked: what the soak claims to survive really happened."""
    never_fired = rules_never_fired(faults)
    assert not never_fired, f"these fault rules never fired, so they were not tested: {never_fired}"
    assert injected >= MIN_FAULTS, f"only {injected} faults were injected"
    assert blocked > 0, "the WAF never blocked: raise the request rate or lower the limit"


def fired_summary(faults: list[dict[str, Any]]) -> str:
    """One line of how often each rule fired, for the run's printed report."""
    return ", ".join(
        f"{rule['method']} {rule['path']} "
        f"{'drop' if rule['drop'] else rule['status'] or 'delay'}"
        f"{' (applied)' if rule['apply'] else ''}: {rule['fired']}"
        for rule in faults
    )


# -- what a user relies on afterwards --------------------------------------------------------


def assert_declared_fleet(partner: dict[str, Any], fleet: list[dict[str, Any]]) -> None:
    """The emulator holds exactly `fleet`: its customers once each, every node claimed by its
    own customer at that customer's location, one license per node."""
    customers = partner["customers"]
    account_ids = [c["accountId"] for c in customers]
    assert len(customers) == len(fleet)
    assert not [a for a, n in Counter(account_ids).items() if n > 1], "duplicate accounts"
    assert sorted(account_ids) == sorted(c["accountId"] for c in fleet)

    declared = {node["serialNumber"]: spec["accountId"] for spec in fleet for node in spec["nodes"]}
    by_id = {c["id"]: c for c in customers}
    claimed = partner["claimed_nodes"]
    assert len(claimed) == len(declared)
    assert {n["serialNumber"] for n in claimed} == set(declared)
    for node in claimed:
        owner = by_id.get(node["customerId"])
        assert owner is not None, f"{node['serialNumber']} claimed by an unknown customer"
        assert owner["accountId"] == declared[node["serialNumber"]], node
        assert node["locationId"] in {loc["id"] for loc in owner["locations"]}, node
    assert partner["licenses_in_use"] == len(declared)


def saved_of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The saved resources whose type ends with `kind` (`plume:Customer`, `plume:Node`)."""
    return [r for r in resources if str(r.get("type", "")).endswith(kind)]


def assert_state_agrees(
    resources: list[dict[str, Any]], partner: dict[str, Any], fleet: list[dict[str, Any]]
) -> None:
    """Every saved customer and node of `resources` (a checkpoint's or an export's) is the live
    one: ids, account, location and owner as the emulator has them; none missing."""
    live = {c["accountId"]: c for c in partner["customers"]}
    claims = {n["serialNumber"]: n for n in partner["claimed_nodes"]}
    saved_customers = saved_of_type(resources, "plume:Customer")
    saved_nodes = saved_of_type(resources, "plume:Node")
    assert len(saved_customers) == len(fleet)
    assert len(saved_nodes) == sum(len(spec["nodes"]) for spec in fleet)
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


def assert_nothing_left(partner: dict[str, Any]) -> None:
    """No customer, no claimed node, no license in use."""
    assert partner["customers"] == []
    assert partner["claimed_nodes"] == []
    assert partner["licenses_in_use"] == 0


# -- secrets audit ----------------------------------------------------------------------------


def provider_blobs(resources: list[dict[str, Any]]) -> list[str]:
    """The distinct serialized providers (`__provider`) in the saved inputs and outputs."""
    blobs: set[str] = set()
    for resource in resources:
        for props in (resource.get("inputs") or {}, resource.get("outputs") or {}):
            blob = props.get(PROVIDER_KEY)
            if isinstance(blob, str):
                blobs.add(blob)
    return sorted(blobs)


def decoded(blob: str) -> str:
    """A `__provider` blob as text (base64 of a pickle): what a secret in it would look like."""
    return base64.b64decode(blob).decode("latin-1")


def leaks(texts: Iterable[str], tokens: list[str]) -> list[str]:
    """What of the client secret, the Basic value, the issued `tokens` or any JWT-shaped string
    `texts` hold, by label (never the secret itself), sorted."""
    secrets = [
        ("client secret", LAB_CLIENT_SECRET),
        ("Basic value", BASIC_VALUE),
        *((f"access token #{i}", t) for i, t in enumerate(tokens)),
    ]
    found: set[str] = set()
    for text in texts:
        found.update(label for label, secret in secrets if secret in text)
        found.update(f"JWT-shaped string {m[:12]}..." for m in JWT_SHAPE.findall(text))
    return sorted(found)
