"""Nodes: claim (packs, licenses, already-claimed modes), list, rename, unclaim, lookup."""

from __future__ import annotations

import re

import pytest

from plume_emulator.testing import EmulatorServer
from tests.conftest import EmulatorFactory
from tests.emulator.helpers import HTTP, Api, assert_error

NODE_FIELDS = {
    "serialNumber", "id", "nickname", "residentialGateway", "customerId", "locationId",
    "radioMac24", "radioMac50", "ethernetMac", "bluetoothMac", "macs", "packId",
    "boxSerialNumber", "partNumber", "manufacturerFirmware", "purchaseOrderNumber", "shipDate",
    "backhaulDhcpPoolIdx", "deployment", "shardNumber", "_version", "createdAt", "updatedAt",
}  # fmt: skip
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def test_claim_gateway_returns_full_node(api: Api) -> None:
    customer = api.customer()
    response = api.claim(customer, "LAB-GW-0007", nickname="Living room")
    assert response.status_code == 200
    [node] = response.json()["claimed"]
    assert set(node) == NODE_FIELDS
    assert node["serialNumber"] == node["id"] == "LAB-GW-0007"
    assert node["residentialGateway"] is True
    assert node["nickname"] == "Living room"
    assert (node["customerId"], node["locationId"]) == (customer.id, customer.location_id)
    for key in ("radioMac24", "radioMac50", "ethernetMac", "bluetoothMac"):
        assert MAC.match(node[key]), node[key]
    assert all(MAC.match(mac) for mac in node["macs"])


def test_claim_extender_is_not_a_gateway(api: Api) -> None:
    [node] = api.claim(api.customer(), "LAB-POD-0001").json()["claimed"]
    assert node["residentialGateway"] is False
    assert node["packId"] is None


def test_node_attributes_are_unique_and_deterministic(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    first = [api.claim(customer, f"LAB-POD-{i:04d}").json()["claimed"][0] for i in range(1, 6)]
    macs = [
        n[k] for n in first for k in ("radioMac24", "radioMac50", "ethernetMac", "bluetoothMac")
    ]
    macs += [m for n in first for m in n["macs"]]
    assert len(macs) == len(set(macs))
    emulator.reset()
    again = api.claim(api.customer(), "LAB-POD-0001").json()["claimed"][0]
    for key in ("radioMac24", "partNumber", "manufacturerFirmware", "shipDate", "macs"):
        assert again[key] == first[0][key]


def test_claim_pack_node_claims_whole_pack_requested_first(
    api: Api, emulator: EmulatorServer
) -> None:
    customer = api.customer()
    response = api.claim(customer, "LAB-PK03-2")
    assert response.status_code == 200
    claimed = response.json()["claimed"]
    assert [n["serialNumber"] for n in claimed] == ["LAB-PK03-2", "LAB-PK03-1", "LAB-PK03-3"]
    assert {n["packId"] for n in claimed} == {"LAB-PACK-03"}
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 3


def test_pack_claim_skips_nodes_claimed_elsewhere(api: Api) -> None:
    first, second = api.customer(), api.customer()
    api.claim(first, "LAB-PK04-1")
    api.unclaim(first, "LAB-PK04-2")
    api.unclaim(first, "LAB-PK04-3")
    # first keeps PK04-1; claiming PK04-2 elsewhere brings only the free PK04-3 along
    claimed = api.claim(second, "LAB-PK04-2").json()["claimed"]
    assert [n["serialNumber"] for n in claimed] == ["LAB-PK04-2", "LAB-PK04-3"]


@pytest.mark.parametrize(
    ("mode", "status", "body"),
    [
        pytest.param(204, 204, None, id="default-204"),
        pytest.param(200, 200, {"claimed": []}, id="mode-200"),
    ],
)
def test_claim_already_claimed_here(
    emulator_factory: EmulatorFactory, mode: int, status: int, body: object
) -> None:
    server = emulator_factory(already_claimed_status=mode)
    view = Api(server)
    try:
        customer = view.customer()
        assert view.claim(customer, "LAB-GW-0001").status_code == 200
        response = view.claim(customer, "LAB-GW-0001")
        assert response.status_code == status
        if body is None:
            assert response.content == b""
        else:
            assert response.json() == body
        assert server.state()["partners"]["lab-partner"]["licenses_in_use"] == 1
    finally:
        view.close()


def test_claim_not_in_inventory_is_404(api: Api) -> None:
    assert_error(api.claim(api.customer(), "NOPE-0001"), 404, "NOPE-0001", "lab-partner")


def test_claim_other_partners_serial_is_404(api: Api) -> None:
    assert_error(api.claim(api.customer(), "OTH-GW-0001"), 404, "OTH-GW-0001")


def test_claim_unknown_location_is_404(api: Api) -> None:
    customer = api.customer()
    response = api.request(
        "POST",
        f"/Customers/{customer.id}/locations/nowhere/nodes",
        json={"serialNumber": "LAB-GW-0001"},
    )
    assert_error(response, 404, "nowhere")


def test_claim_owned_by_another_customer_is_409(api: Api, emulator: EmulatorServer) -> None:
    owner, thief = api.customer(), api.customer()
    api.claim(owner, "LAB-GW-0002")
    before = emulator.state()
    assert_error(api.claim(thief, "LAB-GW-0002"), 409, "LAB-GW-0002", owner.id)
    assert emulator.state() == before


def test_claim_beyond_license_limit_is_422(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(pods_authorized=2)
    view = Api(server)
    try:
        customer = view.customer()
        assert view.claim(customer, "LAB-POD-0001").status_code == 200
        assert view.claim(customer, "LAB-POD-0002").status_code == 200
        assert_error(view.claim(customer, "LAB-POD-0003"), 422, "numPodsAuthorized=2")
        view.unclaim(customer, "LAB-POD-0001")
        assert view.claim(customer, "LAB-POD-0003").status_code == 200, "unclaim released a license"
    finally:
        view.close()


def test_pack_that_does_not_fit_is_rejected_whole(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(pods_authorized=2)
    view = Api(server)
    try:
        customer = view.customer()
        assert_error(view.claim(customer, "LAB-PK01-1"), 422, "numPodsAuthorized=2", "LAB-PACK-01")
        assert server.state()["partners"]["lab-partner"]["licenses_in_use"] == 0
    finally:
        view.close()


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        pytest.param({}, "serialNumber", id="missing-serial"),
        pytest.param({"serialNumber": 7}, "serialNumber", id="serial-not-string"),
        pytest.param({"serialNumber": ""}, "serialNumber", id="empty-serial"),
        pytest.param({"serialNumber": "LAB-GW-0001", "color": "red"}, "color", id="unknown-field"),
        pytest.param(
            {"serialNumber": "LAB-GW-0001", "nickname": "x" * 256},
            "nickname",
            id="nickname-too-long",
        ),
    ],
)
def test_claim_validation_is_422(
    api: Api, emulator: EmulatorServer, body: dict[str, object], mention: str
) -> None:
    customer = api.customer()
    before = emulator.state()
    assert_error(api.request("POST", api.nodes_path(customer), json=body), 422, mention)
    assert emulator.state() == before


def test_claim_without_token_is_401(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    response = HTTP.post(
        emulator.api_url + api.nodes_path(customer), json={"serialNumber": "LAB-GW-0001"}
    )
    assert_error(response, 401)


# ------------------------------------------------------------------ list / rename
def test_list_nodes_in_claim_order(api: Api) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0010")
    api.claim(customer, "LAB-POD-0010")
    response = api.request("GET", api.nodes_path(customer))
    assert response.status_code == 200
    assert [n["serialNumber"] for n in response.json()["nodes"]] == ["LAB-GW-0010", "LAB-POD-0010"]


def test_list_nodes_unknown_location_is_404(api: Api) -> None:
    customer = api.customer()
    assert_error(api.request("GET", api.nodes_path(customer, "nowhere")), 404, "nowhere")


def test_rename_node(api: Api) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-POD-0020")
    response = api.request(
        "PUT", f"{api.nodes_path(customer)}/LAB-POD-0020", json={"nickname": "Kitchen"}
    )
    assert response.status_code == 200
    assert response.json()["nickname"] == "Kitchen"
    assert api.request("GET", api.nodes_path(customer)).json()["nodes"][0]["nickname"] == "Kitchen"


def test_rename_node_not_here_is_404(api: Api) -> None:
    customer = api.customer()
    response = api.request(
        "PUT", f"{api.nodes_path(customer)}/LAB-POD-0021", json={"nickname": "x"}
    )
    assert_error(response, 404, "LAB-POD-0021")


# ------------------------------------------------------------------ unclaim
def test_unclaim_releases_license(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0030")
    response = api.unclaim(customer, "LAB-GW-0030")
    assert response.status_code == 204
    assert response.content == b""
    assert emulator.state()["partners"]["lab-partner"]["licenses_in_use"] == 0
    assert "customerId" not in api.request("GET", "/Partners/nodes/LAB-GW-0030").json()


def test_unclaim_already_unclaimed_is_400(api: Api) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0031")
    api.claim(customer, "LAB-POD-0031")
    api.unclaim(customer, "LAB-POD-0031")
    assert_error(api.unclaim(customer, "LAB-POD-0031"), 400, "LAB-POD-0031", "already unclaimed")


def test_unclaim_at_location_without_nodes_is_404(api: Api) -> None:
    assert_error(api.unclaim(api.customer(), "LAB-GW-0032"), 404, "no claimed nodes")


def test_unclaim_unknown_location_is_404(api: Api) -> None:
    customer = api.customer()
    response = api.request("DELETE", f"{api.nodes_path(customer, 'nowhere')}/LAB-GW-0001")
    assert_error(response, 404, "nowhere")


# ------------------------------------------------------------------ lookup
def test_lookup_unclaimed_node(api: Api) -> None:
    response = api.request("GET", "/Partners/nodes/LAB-PK02-1")
    assert response.status_code == 200
    assert response.json() == {
        "serialNumber": "LAB-PK02-1",
        "packId": "LAB-PACK-02",
        "partnerId": "lab-partner",
    }


def test_lookup_claimed_node(api: Api) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0040")
    body = api.request("GET", "/Partners/nodes/LAB-GW-0040").json()
    assert (body["customerId"], body["locationId"]) == (customer.id, customer.location_id)


def test_lookup_other_partners_node_is_403(api: Api, other_api: Api) -> None:
    assert_error(api.request("GET", "/Partners/nodes/OTH-GW-0001"), 403, "OTH-GW-0001")
    assert other_api.request("GET", "/Partners/nodes/OTH-GW-0001").status_code == 200


def test_lookup_unknown_serial_is_404(api: Api) -> None:
    assert_error(api.request("GET", "/Partners/nodes/NOPE-1"), 404, "NOPE-1")


def test_lookup_without_token_is_401(emulator: EmulatorServer) -> None:
    assert_error(HTTP.get(f"{emulator.api_url}/Partners/nodes/LAB-GW-0001"), 401)
