"""Node reads of one location from one listing, and pack siblings created in one call: the
memories of `plume_provider.resources.node_cache`, alone and in `NodeProvider` over HTTP."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from plume_emulator.testing import EmulatorServer
from plume_provider.client import PlumeClient
from plume_provider.client.errors import ServerError
from plume_provider.client.models import Node
from plume_provider.resources import CustomerProvider, NodeProvider
from plume_provider.resources.node_cache import LocationListings, PackClaims

from .conftest import calls, customer_props

LIST = ("GET", "/api/Customers/{customerId}/locations/{locationId}/nodes")
CLAIM = ("POST", "/api/Customers/{customerId}/locations/{locationId}/nodes")
RENAME = ("PUT", "/api/Customers/{customerId}/locations/{locationId}/nodes/{nodeId}")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def listing(*serials: str) -> list[Node]:
    return [Node(serial_number=s, customer_id="C", location_id="L") for s in serials]


class Fetches:
    def __init__(self, *serials: str) -> None:
        self.count = 0
        self.serials = serials

    def __call__(self) -> list[Node]:
        self.count += 1
        return listing(*self.serials)


# -- LocationListings alone ---------------------------------------------------------------------


def test_nodes_of_one_location_share_one_listing() -> None:
    cache, fetch = LocationListings(), Fetches("A", "B", "C")
    found = [cache.node("C", "L", s, fetch) for s in ("A", "B", "C")]
    assert [n.serial_number if n else None for n in found] == ["A", "B", "C"]
    assert fetch.count == 1


def test_a_serial_absent_from_the_listing_is_none() -> None:
    cache, fetch = LocationListings(), Fetches("A")
    assert cache.node("C", "L", "A", fetch) is not None
    assert cache.node("C", "L", "GONE", fetch) is None
    assert fetch.count == 1


def test_a_second_read_of_the_same_node_lists_again() -> None:
    """A listing answers each node once: a later refresh in the same process reads afresh."""
    cache, fetch = LocationListings(), Fetches("A", "B")
    cache.node("C", "L", "A", fetch)
    cache.node("C", "L", "A", fetch)
    assert fetch.count == 2


def test_an_old_listing_is_not_used() -> None:
    clock = Clock()
    cache, fetch = LocationListings(ttl=30, clock=clock), Fetches("A", "B")
    cache.node("C", "L", "A", fetch)
    clock.now = 31
    cache.node("C", "L", "B", fetch)
    assert fetch.count == 2


def test_other_locations_are_listed_separately() -> None:
    cache, fetch = LocationListings(), Fetches("A")
    cache.node("C", "L1", "A", fetch)
    cache.node("C", "L2", "A", fetch)
    assert fetch.count == 2


def test_forget_drops_the_listing_of_a_location_or_a_customer() -> None:
    cache, fetch = LocationListings(), Fetches("A", "B", "C")
    cache.node("C", "L", "A", fetch)
    cache.forget("C", "L")
    cache.node("C", "L", "B", fetch)
    cache.forget("C")
    cache.node("C", "L", "C", fetch)
    assert fetch.count == 3


class Unclaims:
    """The one client call a node delete makes, recorded."""

    def __init__(self) -> None:
        self.unclaimed: list[tuple[str, str, str]] = []

    def unclaim_node(self, customer_id: str, location_id: str, serial: str) -> bool:
        self.unclaimed.append((customer_id, location_id, serial))
        return True


def test_a_node_delete_forgets_the_listing_of_its_location_only() -> None:
    """A delete drops what this process listed at the node's location (it changed there), and
    keeps the listing of the customer's other location: reading a node there costs no call."""
    nodes, client = NodeProvider(), Unclaims()
    nodes._client = client  # type: ignore[assignment]
    here, there = Fetches("A", "B"), Fetches("X", "Y")
    nodes._listings.node("C", "L1", "A", here)
    nodes._listings.node("C", "L2", "X", there)
    nodes.delete("B", {"customerId": "C", "locationId": "L1", "serialNumber": "B"})
    assert client.unclaimed == [("C", "L1", "B")]
    nodes._listings.node("C", "L1", "B", here)
    nodes._listings.node("C", "L2", "Y", there)
    assert (here.count, there.count) == (2, 1)


def test_a_failed_listing_is_not_remembered() -> None:
    cache = LocationListings()

    def failing() -> list[Node]:
        raise ServerError("list nodes failed", status=500, method="GET", path="/x")

    with pytest.raises(ServerError):
        cache.node("C", "L", "A", failing)
    fetch = Fetches("A")
    assert cache.node("C", "L", "A", fetch) is not None
    assert fetch.count == 1


def test_concurrent_reads_of_one_location_wait_for_one_listing() -> None:
    """The engine reads the nodes of a refresh in parallel: the second read must not list the
    location again while the first listing is on the wire."""
    cache, started, release = LocationListings(), threading.Event(), threading.Event()
    count = 0

    def slow() -> list[Node]:
        nonlocal count
        count += 1
        started.set()
        release.wait(5)
        return listing("A", "B")

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(cache.node, "C", "L", "A", slow)
        started.wait(5)
        second = pool.submit(cache.node, "C", "L", "B", slow)
        time.sleep(0.05)
        release.set()
        assert first.result(5) is not None
        assert second.result(5) is not None
    assert count == 1


def test_pack_claims_are_taken_once_and_expire() -> None:
    clock = Clock()
    claims = PackClaims(ttl=30, clock=clock)
    claims.remember("C", "L", listing("B", "C"))
    assert claims.take("C", "L", "B") is not None
    assert claims.take("C", "L", "B") is None
    assert claims.take("OTHER", "L", "C") is None
    clock.now = 31
    assert claims.take("C", "L", "C") is None


# -- NodeProvider over HTTP -------------------------------------------------------------------


@pytest.fixture
def home(customers: CustomerProvider) -> dict[str, Any]:
    return customers.create(customer_props("CALLS-NODE-1")).outs or {}


def props(home: dict[str, Any], serial: str, **extra: Any) -> dict[str, Any]:
    return {
        "customerId": home["customerId"],
        "locationId": home["locationId"],
        "serialNumber": serial,
        **extra,
    }


def test_a_refresh_of_a_location_is_one_listing(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    created = [nodes.create(props(home, s)) for s in ("LAB-GW-0201", "LAB-POD-0201")]
    emulator.reset_stats()

    reads = [nodes.read(c.id, c.outs or {}) for c in created]

    assert [r.id for r in reads] == ["LAB-GW-0201", "LAB-POD-0201"]
    assert calls(emulator) == {LIST: 1}


def test_a_node_unclaimed_after_it_was_read_is_seen_gone_by_the_next_read(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    """The listing is valid within one refresh: reading the same node again lists again."""
    created = nodes.create(props(home, "LAB-POD-0202"))
    assert nodes.read(created.id, created.outs or {}).id == "LAB-POD-0202"
    plume.unclaim_node(home["customerId"], home["locationId"], "LAB-POD-0202")

    assert nodes.read(created.id, created.outs or {}).id == ""


def test_a_claim_of_this_process_forgets_the_listing_of_its_location(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    first = nodes.create(props(home, "LAB-GW-0203"))
    nodes.read(first.id, first.outs or {})  # lists the location (LAB-POD-0203 not yet there)
    second = nodes.create(props(home, "LAB-POD-0203"))

    assert nodes.read(second.id, second.outs or {}).id == "LAB-POD-0203"


def test_an_out_of_band_rename_is_read_as_drift(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    created = nodes.create(props(home, "LAB-GW-0204", nickname="Hall"))
    plume.rename_node(home["customerId"], home["locationId"], "LAB-GW-0204", "From the app")

    read = nodes.read(created.id, created.outs or {})

    assert (read.outs or {})["nickname"] == "From the app"
    assert nodes.diff(
        created.id, read.outs or {}, props(home, "LAB-GW-0204", nickname="Hall")
    ).changes


def test_a_read_after_the_customer_was_deleted_is_gone(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient
) -> None:
    created = nodes.create(props(home, "LAB-GW-0205"))
    plume.delete_customer(home["customerId"])

    assert nodes.read(created.id, created.outs or {}).id == ""


def test_pack_siblings_after_the_first_claim_cost_one_call_each(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    nodes.create(props(home, "LAB-PK04-1", nickname="Kitchen"))
    emulator.reset_stats()

    second = nodes.create(props(home, "LAB-PK04-2", nickname="Bedroom"))

    assert calls(emulator) == {RENAME: 1}
    assert (second.outs or {})["nickname"] == "Bedroom"
    assert (second.outs or {})["packId"] == "LAB-PACK-04"
    emulator.reset_stats()

    third = nodes.create(props(home, "LAB-PK04-3"))  # no nickname: the claim answer suffices

    assert sum(calls(emulator).values()) <= 1
    assert third.id == "LAB-PK04-3"
    assert (third.outs or {})["customerId"] == home["customerId"]


def test_a_pack_sibling_unclaimed_since_is_claimed_again(
    nodes: NodeProvider, home: dict[str, Any], plume: PlumeClient, emulator: EmulatorServer
) -> None:
    nodes.create(props(home, "LAB-PK05-1"))
    plume.unclaim_node(home["customerId"], home["locationId"], "LAB-PK05-2")

    created = nodes.create(props(home, "LAB-PK05-2", nickname="Attic"))

    assert created.id == "LAB-PK05-2"
    state = emulator.state()["partners"]["lab-partner"]["claimed_nodes"]
    assert "LAB-PK05-2" in {n["serialNumber"] for n in state}


def test_pack_siblings_created_at_once_wait_for_the_claim_that_claims_them(
    nodes: NodeProvider, home: dict[str, Any], emulator: EmulatorServer
) -> None:
    """As the engine creates them: all three at the same time. One claim, two renames."""
    emulator.reset_stats()
    wanted = {"LAB-PK06-1": "One", "LAB-PK06-2": "Two", "LAB-PK06-3": "Three"}
    with ThreadPoolExecutor(max_workers=3) as pool:
        created = list(
            pool.map(lambda s: nodes.create(props(home, s, nickname=wanted[s])), list(wanted))
        )

    assert {c.id: (c.outs or {})["nickname"] for c in created} == wanted
    assert calls(emulator) == {CLAIM: 1, RENAME: 2}
