"""Fleets of any size for the soak and the benchmark, built from the emulator's seed inventory.

The seed holds gateways `LAB-GW-0001..0500` and single extenders `LAB-POD-0001..1500` for
partner `lab-partner` (pack serials `LAB-PKnn-*` are left out: claiming one claims its pack).
Customer i gets gateway i+1 first, then pods from a running counter, so every serial is used
once across the fleet.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "GATEWAYS",
    "LAB_CLIENT_ID",
    "LAB_CLIENT_SECRET",
    "LAB_PARTNER",
    "PODS",
    "make_fleet",
    "provider_config",
    "stack_config",
]

LAB_PARTNER = "lab-partner"
LAB_CLIENT_ID = "lab-client"
LAB_CLIENT_SECRET = "lab-secret"
GATEWAYS = 500
PODS = 1500


def _serials(customers: int, nodes_per_customer: int) -> list[list[str]]:
    pods = iter(f"LAB-POD-{n:04d}" for n in range(1, PODS + 1))
    gateways = iter(f"LAB-GW-{n:04d}" for n in range(1, GATEWAYS + 1))
    result: list[list[str]] = []
    for _ in range(customers):
        serials: list[str] = []
        for k in range(nodes_per_customer):
            source = gateways if k == 0 else pods
            serial = next(source, None) or next(pods, None)
            if serial is None:
                raise ValueError(
                    f"the seed inventory has {GATEWAYS + PODS} single nodes; "
                    f"{customers} x {nodes_per_customer} is too many"
                )
            serials.append(serial)
        result.append(serials)
    return result


def make_fleet(
    customers: int, nodes_per_customer: int, *, prefix: str = "FLEET"
) -> list[dict[str, Any]]:
    """`customers` customers (accountId `<prefix>-0001`...) with `nodes_per_customer` nodes."""
    fleet: list[dict[str, Any]] = []
    for i, serials in enumerate(_serials(customers, nodes_per_customer), start=1):
        account = f"{prefix}-{i:04d}"
        fleet.append(
            {
                "accountId": account,
                "name": f"Customer {i}",
                "email": f"{account.lower()}@example.org",
                "nodes": [
                    {"serialNumber": serial, "nickname": f"node {k}"}
                    for k, serial in enumerate(serials)
                ],
            }
        )
    return fleet


def provider_config(
    api_url: str,
    token_url: str,
    *,
    requests_per_second: float = 0,
    timeout_seconds: float = 30,
    max_retries: int = 5,
) -> dict[str, str]:
    """The `plume:*` stack config for the lab partner against one emulator."""
    return {
        "plume:apiUrl": api_url,
        "plume:tokenUrl": token_url,
        "plume:partnerId": LAB_PARTNER,
        "plume:clientId": LAB_CLIENT_ID,
        "plume:clientSecret": LAB_CLIENT_SECRET,
        "plume:requestsPerSecond": f"{requests_per_second:g}",
        "plume:timeoutSeconds": f"{timeout_seconds:g}",
        "plume:maxRetries": str(max_retries),
    }


def stack_config(fleet: list[dict[str, Any]], provider: dict[str, str]) -> dict[str, str]:
    """Stack config as Pulumi hands it over: namespaced keys, JSON text for structured values."""
    return {**provider, "plume-fleet:customers": json.dumps(fleet)}
