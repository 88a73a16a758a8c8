"""Running the emulator: restarts keep the lab, the command line, inventory files, concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from plume_emulator import EmulatorOptions, create_app, developer
from plume_emulator.auth import Principal
from plume_emulator.errors import EmulatorError
from plume_emulator.models import RegisterBody
from plume_emulator.testing import EmulatorProcess, EmulatorServer
from tests.conftest import EmulatorFactory
from tests.emulator.helpers import HTTP, Api, assert_error, fetch_token


def test_lab_survives_a_restart(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    db = tmp_path / "lab.sqlite"
    first = emulator_factory(db_path=db)
    view = Api(first)
    customer = view.customer(accountId="KEEP-1")
    view.claim(customer, "LAB-GW-0001")
    token = view.token
    view.close()
    before = first.state()
    first.stop()
    second = emulator_factory(db_path=db)
    assert second.state() == before
    response = HTTP.get(
        f"{second.api_url}/Partners/nodes/LAB-GW-0001", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json()["customerId"] == customer.id, "tokens survive a restart as well"


def test_reset_option_starts_from_seed(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    db = tmp_path / "lab.sqlite"
    first = emulator_factory(db_path=db)
    view = Api(first)
    view.customer()
    view.close()
    first.stop()
    second = emulator_factory(db_path=db, reset=True)
    assert second.state()["partners"]["lab-partner"]["customers"] == []


def test_inventory_file_adds_partners_and_nodes(
    emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "partners:\n"
        "  - {id: acme, client_id: acme-client, client_secret: acme-secret}\n"
        "nodes:\n"
        "  - {serialNumber: ACME-GW-1, partnerId: acme, residentialGateway: true}\n"
        "  - {serialNumber: LAB-EXTRA-1, partnerId: lab-partner, packId: EXTRA-PACK}\n"
    )
    server = emulator_factory(inventory=inventory)
    assert "acme" in server.state()["partners"]
    lab = Api(server)
    try:
        assert lab.request("GET", "/Partners/nodes/LAB-EXTRA-1").json()["packId"] == "EXTRA-PACK"
        assert_error(lab.request("GET", "/Partners/nodes/ACME-GW-1"), 403)
    finally:
        lab.close()


def test_json_inventory_adds_its_nodes(emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    good = tmp_path / "inv.json"
    good.write_text(
        json.dumps(
            {
                "nodes": [
                    {"serialNumber": "LAB-J-1", "partnerId": "lab-partner", "packId": "J-PACK"},
                    {
                        "serialNumber": "LAB-J-GW",
                        "partnerId": "lab-partner",
                        "residentialGateway": True,
                    },
                ]
            }
        )
    )
    server = emulator_factory(inventory=good)
    lab = Api(server)
    try:
        pod = lab.request("GET", "/Partners/nodes/LAB-J-1")
        assert pod.status_code == 200
        assert (pod.json()["serialNumber"], pod.json()["packId"]) == ("LAB-J-1", "J-PACK")
        assert pod.json().get("customerId") is None, "an inventory node starts unclaimed"
        customer = lab.customer(accountId="JSON-1")
        assert lab.claim(customer, "LAB-J-GW").status_code == 200
        claimed = server.state()["partners"]["lab-partner"]["claimed_nodes"]
        assert [n["serialNumber"] for n in claimed] == ["LAB-J-GW"]
    finally:
        lab.close()


def test_inventory_naming_an_unknown_partner_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - {serialNumber: X-1, partnerId: nobody}\n")
    with pytest.raises(ValueError, match="nobody"):
        create_app(EmulatorOptions(db_path=tmp_path / "b.sqlite", inventory=bad))


def test_command_line_starts_and_stops(tmp_path: Path) -> None:
    with EmulatorProcess(db_path=tmp_path / "cli.sqlite", token_ttl=120) as proc:
        assert proc.first_line == f"plume-emulator listening on {proc.url}"
        assert proc.url.startswith("http://127.0.0.1:")
        assert not proc.url.endswith(":0")
        assert HTTP.get(proc.url + "/_emulator/health").json() == {"status": "ok"}
        token = HTTP.post(
            proc.token_url,
            headers={"Authorization": proc.credentials().auth_header},
            data={
                "grant_type": "client_credentials",
                "scope": "partnerId:lab-partner role:partnerIdAdmin",
            },
        ).json()
        assert token["expires_in"] == 120
        process = proc.process
        assert process is not None
    assert process.poll() is not None, "the subprocess was stopped"


def test_command_line_rejects_unknown_option() -> None:
    with pytest.raises(TypeError, match="bogus"):
        EmulatorProcess(bogus=1)


def test_server_stops_its_thread(tmp_path: Path) -> None:
    server = EmulatorServer(tmp_path / "t.sqlite").start()
    url = server.url
    server.stop()
    assert not any(t.name == f"plume-emulator {url}" for t in threading.enumerate())
    with pytest.raises(httpx.ConnectError):
        HTTP.get(url + "/_emulator/health")


def test_twenty_threads_claim_one_serial(emulator: EmulatorServer) -> None:
    token = fetch_token(emulator.credentials())
    headers = {"Authorization": f"Bearer {token}"}
    customers = []
    with httpx.Client(base_url=emulator.api_url, headers=headers, verify=False) as client:
        for i in range(20):
            body = client.post(
                "/Customers/register", json={"accountId": f"RACE-{i}", "partnerId": "lab-partner"}
            ).json()
            customers.append((body["id"], body["locationId"]))
    barrier = threading.Barrier(20)

    def claim(ids: tuple[str, str]) -> int:
        with httpx.Client(base_url=emulator.api_url, headers=headers, verify=False) as client:
            barrier.wait()
            path = f"/Customers/{ids[0]}/locations/{ids[1]}/nodes"
            return client.post(path, json={"serialNumber": "LAB-GW-0100"}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(claim, customers))
    assert sorted(statuses) == [200] + [409] * 19
    claimed = emulator.state()["partners"]["lab-partner"]["claimed_nodes"]
    assert [n["serialNumber"] for n in claimed] == ["LAB-GW-0100"]


def test_backend_serialises_concurrent_claims_across_threads(tmp_path: Path) -> None:
    """The same race without the event loop: 20 threads, 20 connections, one winner."""
    app = create_app(EmulatorOptions(db_path=tmp_path / "race.sqlite"))
    backend = app.lab.backend
    who = Principal("lab-partner", "lab-client", float("inf"), "")
    customers = [
        backend.register_customer(who, RegisterBody(accountId=f"T-{i}", partnerId="lab-partner"))
        for i in range(20)
    ]
    barrier = threading.Barrier(20)

    def claim(customer: dict[str, str]) -> int:
        barrier.wait()
        try:
            backend.claim_node(who, customer["id"], customer["locationId"], "LAB-POD-0500", None)
        except EmulatorError as err:
            return err.status
        return 200

    try:
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(claim, customers))
        assert sorted(statuses) == [200] + [409] * 19
        state = developer.state(app.lab.db)
        assert state["partners"]["lab-partner"]["licenses_in_use"] == 1
    finally:
        app.close()
