"""The emulator with two customers of the lab partner (each with a claimed gateway) and the
`PLUME_*` environment discover reads, for the in-process discover tests."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_testkit.lab_view import client_env, partner_token

CRM = """accountId,name,email,serialNumber,nickname
OLD-1,Old One,old1@example.org,LAB-GW-0201,
OLD-2,Old Two (CRM),old2@example.org,,
NEW-1,New One,new1@example.org,LAB-GW-0202,Hall
"""


@pytest.fixture
def plume_env(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, lab_credentials: LabCredentials
) -> EmulatorServer:
    creds = lab_credentials
    settings = client_env(creds, PLUME_REQUESTS_PER_SECOND="0", PLUME_MAX_RETRIES="0")
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    token = partner_token(creds)
    with httpx.Client(base_url=creds.api_url, headers={"Authorization": f"Bearer {token}"}) as api:
        for number, name in ((1, "Old One"), (2, "Old Two")):
            customer = api.post(
                "/Customers/register",
                json={
                    "partnerId": creds.partner_id,
                    "accountId": f"OLD-{number}",
                    "name": name,
                    "email": f"old{number}@example.org",
                },
            ).json()
            where = f"/Customers/{customer['id']}/locations/{customer['locationId']}/nodes"
            api.post(where, json={"serialNumber": f"LAB-GW-020{number}", "nickname": "Live"})
    emulator.reset_stats()
    return emulator


def api_calls(emulator: EmulatorServer) -> Counter[str]:
    calls: Counter[str] = Counter()
    for row in emulator.stats()["requests"]:
        if row["route"].startswith("/api"):
            calls[f"{row['method']} {row['route']}"] += row["count"]
    return calls
