"""NodeProvider called directly against the emulator over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer
from plume_provider.client import PlumeClient
from plume_provider.client.errors import ConflictError, LicenseLimitError, NotFoundError
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.node import OUTPUTS

from .conftest import calls, configure, customer_props, stack_config

RENAME = ("PUT", "/api/Customers/{customerId}/locations/{locationId}/nodes/{nodeId}")
LOOKUP = ("GET", "/api/Partners/nodes/{serialNumber}")
LIST = ("GET", "/api/Customers/{customerId}/locations/{locationId}/nodes")
NODE_FIELDS = [
    "serialNumber",
    "nodeId",
    "nickname",
    "residentialGateway",
    "customerId",
    "locationId",
    "radioMac24",
    "radioMac50",
    "ethernetMac",
    "bluetoothMac",
    "macs",
    "packId",
    "boxSerialNumber",
    "partNumber",
    "manufacturerFirmware",
    "purchaseOrderNumber",
    "shipDate",
    "backhaulDhcpPoolIdx",
    "deployment",
    "shardNumber",
    "version",
    "createdAt",
    "updatedAt",
]


@pytest.fixture
def home(customers: CustomerProvider, account_id: Callable[[], str]) -> dict[str, Any]:
    """A customer's outputs (customerId, locationId, ...)."""
    return customers.create(customer_props(account_id())).outs or {}


def node_props(home: dict[str, Any], serial: str, **extra: Any) -> dict[str, Any]:
    return {
        "customerId": home["customerId"],
        "locationId": home["locationId"],
        "serialNumber": serial,
        **extra,
    }


def claimed(emulator: EmulatorServer) -> dict[str, tuple[str, str]]:
    rows = emulator.state()["partners"]["lab-partner"]["claimed_nodes"]
    return {r["serialNumber"]: (r["customerId"], r["locationId"]) for r in rows}


def licenses(emulator: EmulatorServer) -> int:
    return int(emulator.state()["partners"]["lab-partner"]["licenses_in_use"])


def test_full_lifecycle(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    props = node_props(home, "LAB-GW-0001", nickname="Gateway")
    created = nodes.create(props)
    outs = created.outs or {}
    assert created.id == "LAB-GW-0001"
    assert set(NODE_FIELDS) <= set(outs) == set(OUTPUTS)
    assert outs["residentialGateway"] is True
    assert outs["nickname"] == "Gateway"
    assert outs["radioMac24"]
    assert outs["macs"]
    assert (outs["customerId"], outs["locationId"]) == (home["customerId"], home["locationId"])
    assert claimed(emulator) == {"LAB-GW-0001": (home["customerId"], home["locationId"])}
    assert licenses(emulator) == 1

    emulator.reset_stats()
    read = nodes.read(created.id, outs)
    assert read.id == "LAB-GW-0001"
    assert read.outs == outs
    assert read.inputs == props
    assert calls(emulator) == {LIST: 1}  # refresh is one call (the location's listing)

    emulator.reset_stats()
    assert nodes.diff(created.id, outs, props).changes is False
    assert nodes.update(created.id, outs, props).outs == outs
    assert calls(emulator) == {}

    news = {**props, "nickname": "Hall"}
    diff = nodes.diff(created.id, outs, news)
    assert diff.changes is True
    assert diff.replaces == []
    updated = nodes.update(created.id, outs, news).outs or {}
    assert calls(emulator) == {RENAME: 1}
    assert updated["nickname"] == "Hall"
    assert updated["serialNumber"] == "LAB-GW-0001"
    assert nodes.diff(created.id, updated, news).changes is False

    nodes.delete(created.id, updated)
    assert claimed(emulator) == {}
    assert licenses(emulator) == 0
    nodes.delete(created.id, updated)  # already unclaimed: success
    assert nodes.read(created.id, updated).id == ""


def test_claim_twice_is_idempotent(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    props = node_props(home, "LAB-POD-0001", nickname="Kitchen")
    first = nodes.create(props)
    second = nodes.create(props)
    assert second.id == first.id
    assert second.outs == first.outs
    assert licenses(emulator) == 1


def test_already_claimed_node_is_adopted_and_renamed(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient, emulator: EmulatorServer
) -> None:
    plume.claim_node(home["customerId"], home["locationId"], "LAB-POD-0002", "Old")
    created = nodes.create(node_props(home, "LAB-POD-0002", nickname="New"))
    assert (created.outs or {})["nickname"] == "New"
    assert licenses(emulator) == 1


def test_not_in_inventory(nodes: NodeProvider, home: dict[str, Any]) -> None:
    with pytest.raises(NotFoundError) as caught:
        nodes.create(node_props(home, "NOPE-0001"))
    message = str(caught.value)
    assert "NOPE-0001" in message
    assert "inventory" in message


def test_claimed_by_another_customer(
    nodes: NodeProvider,
    customers: CustomerProvider,
    home: dict[str, Any],
    account_id: Callable[[], str],
    emulator: EmulatorServer,
) -> None:
    nodes.create(node_props(home, "LAB-POD-0003"))
    other = customers.create(customer_props(account_id())).outs or {}
    with pytest.raises(ConflictError) as caught:
        nodes.create(node_props(other, "LAB-POD-0003"))
    message = str(caught.value)
    assert "LAB-POD-0003" in message
    assert "unclaim it there first" in message
    assert claimed(emulator)["LAB-POD-0003"] == (home["customerId"], home["locationId"])


def test_license_limit(
    emulator_factory: Callable[..., EmulatorServer], account_id: Callable[[], str]
) -> None:
    server = emulator_factory(pods_authorized=1)
    config = stack_config(server.credentials("lab-partner"))
    home = configure(CustomerProvider(), config).create(customer_props(account_id())).outs or {}
    provider = configure(NodeProvider(), config)
    provider.create(node_props(home, "LAB-POD-0001"))
    with pytest.raises(LicenseLimitError) as caught:
        provider.create(node_props(home, "LAB-POD-0002"))
    message = str(caught.value)
    assert "numPodsAuthorized" in message
    assert "unclaim a node or ask Plume for more licenses" in message


def test_pack_claim_warns_about_the_other_nodes(
    nodes: NodeProvider, home: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="plume_provider.resources"):
        created = nodes.create(node_props(home, "LAB-PK01-1"))
    assert created.id == "LAB-PK01-1"
    assert (created.outs or {})["packId"] == "LAB-PACK-01"
    warnings = [r.getMessage() for r in caplog.records if "of its pack" in r.getMessage()]
    assert len(warnings) == 1
    assert "LAB-PK01-2, LAB-PK01-3" in warnings[0]


def test_pack_claim_whose_answer_is_lost_warns_about_the_other_nodes_too(
    nodes: NodeProvider,
    home: dict[str, Any],
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    claim = "/api/Customers/{customerId}/locations/{locationId}/nodes"
    emulator.set_faults(
        [{"method": "POST", "path": claim, "drop": True, "apply": True, "times": 1}]
    )
    with caplog.at_level(logging.WARNING, logger="plume_provider.resources"):
        created = nodes.create(node_props(home, "LAB-PK03-1"))
    assert created.id == "LAB-PK03-1"
    warnings = [r.getMessage() for r in caplog.records if "of its pack" in r.getMessage()]
    assert len(warnings) == 1
    assert "LAB-PK03-2, LAB-PK03-3" in warnings[0]
    licenses = emulator.state()["partners"]["lab-partner"]["licenses_in_use"]
    assert licenses == 3


def test_unclaimed_out_of_band_reads_as_gone(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    created = nodes.create(node_props(home, "LAB-POD-0004"))
    plume.unclaim_node(home["customerId"], home["locationId"], "LAB-POD-0004")
    read = nodes.read(created.id, created.outs or {})
    assert (read.id, read.outs) == ("", {})


def test_node_deleted_after_its_location_was_listed_reads_as_gone(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    """The listing read for one node of a location must not answer for a node deleted since:
    a refresh after the delete (same provider process) sees it gone, not still claimed."""
    first = nodes.create(node_props(home, "LAB-POD-0011"))
    second = nodes.create(node_props(home, "LAB-POD-0012"))
    assert nodes.read(first.id, first.outs or {}).id == "LAB-POD-0011"  # lists the location
    nodes.delete(second.id, second.outs or {})
    assert "LAB-POD-0012" not in claimed(emulator)
    read = nodes.read(second.id, second.outs or {})
    assert (read.id, read.outs) == ("", {})


def test_moved_to_another_location_reads_as_gone_and_recreate_fails_clearly(
    nodes: NodeProvider,
    customers: CustomerProvider,
    home: dict[str, Any],
    plume: PlumeClient,
    account_id: Callable[[], str],
) -> None:
    props = node_props(home, "LAB-POD-0005")
    created = nodes.create(props)
    other = customers.create(customer_props(account_id())).outs or {}
    plume.unclaim_node(home["customerId"], home["locationId"], "LAB-POD-0005")
    plume.claim_node(other["customerId"], other["locationId"], "LAB-POD-0005")
    assert nodes.read(created.id, created.outs or {}).id == ""
    with pytest.raises(ConflictError, match="LAB-POD-0005"):
        nodes.create(props)


def test_unknown_serial_reads_as_gone(nodes: NodeProvider, home: dict[str, Any]) -> None:
    assert nodes.read("NOPE-0002", node_props(home, "NOPE-0002")).id == ""


def test_import_reads_from_inputs_alone(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    plume.claim_node(home["customerId"], home["locationId"], "LAB-GW-0002", "Imported")
    declared = node_props(home, "LAB-GW-0002", nickname="Imported")
    read = nodes.read("LAB-GW-0002", declared)
    assert read.id == "LAB-GW-0002"
    assert read.outs is not None
    assert read.outs["residentialGateway"] is True
    assert read.outs["nodeId"] == "LAB-GW-0002"
    assert read.outs["radioMac50"]
    assert read.inputs == declared
    assert nodes.diff(read.id, read.outs, declared).changes is False


def test_import_by_serial_alone(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    plume.claim_node(home["customerId"], home["locationId"], "LAB-POD-0006", "Den")
    read = nodes.read("LAB-POD-0006", {})
    assert read.inputs == node_props(home, "LAB-POD-0006", nickname="Den")


def test_delete_after_customer_deleted(
    nodes: NodeProvider,
    customers: CustomerProvider,
    home: dict[str, Any],
    emulator: EmulatorServer,
) -> None:
    created = nodes.create(node_props(home, "LAB-POD-0007"))
    customers.delete(home["customerId"], home)  # unclaims its nodes too
    nodes.delete(created.id, created.outs or {})
    assert claimed(emulator) == {}


def test_concurrent_calls_share_one_client_and_token(
    nodes: NodeProvider,
    home: dict[str, Any],
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The host serves four calls at once: one client, one token, every claim made."""
    built: list[PlumeClient] = []
    original = PlumeClient.__init__

    def counting_init(self: PlumeClient, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PlumeClient, "__init__", counting_init)
    serials = [f"LAB-POD-{i:04d}" for i in range(10, 18)]
    fresh = NodeProvider.__new__(NodeProvider)
    fresh.__setstate__(nodes.__getstate__())  # as unpickled by the host: no client yet
    fresh._config = nodes._config
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda s: fresh.create(node_props(home, s)), serials))
    assert [r.id for r in results] == serials
    assert set(claimed(emulator)) == set(serials)
    assert emulator.stats()["tokens_issued"] == 1
    assert len(built) == 1
    fresh.close()
