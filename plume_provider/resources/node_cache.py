"""Short-lived memory of one node provider object, so that node operations cost one call each.

The dynamic-provider host keeps one `NodeProvider` object per process and calls it from several
threads; these two memories live on that object (never in the state, never across processes):

* `LocationListings`: during a refresh, the engine reads every node of a location. The first
  read of a location lists its nodes (one call) and the other nodes of that location are
  answered from that listing, each at most once: a second read of the same node (a second
  refresh in the same process) lists the location again. Listings older than `ttl` seconds
  are never used, and any change this process makes at a location (claim, rename, unclaim)
  forgets its listing. Reads of one location wait for the one listing in flight.
* `PackClaims`: a claim answer lists every node it claimed (the rest of a pack too). Those
  nodes are remembered for `ttl` seconds so that their own create, moments later, needs no
  claim: one call (the rename to the declared nickname) or none. Claims at one location are
  serialized within the process, so a sibling started while the first claim is on the wire
  waits for its answer instead of racing it (and paying a claim, a lookup and a listing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from plume_provider.client.models import Node

__all__ = ["DEFAULT_TTL", "LocationListings", "PackClaims"]

DEFAULT_TTL = 30.0
"""Seconds a listing or a claim answer may be used (a refresh of 2,000 nodes reads the nodes
of one location within a second or two of each other)."""

Key = tuple[str, str]


@dataclass
class _Listing:
    fetched: float
    nodes: dict[str, Node]
    served: set[str] = field(default_factory=set)


class LocationListings:
    """Node reads of one location served from one listing (see the module docstring)."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._listings: dict[Key, _Listing] = {}

    def node(
        self, customer_id: str, location_id: str, serial: str, fetch: Callable[[], list[Node]]
    ) -> Node | None:
        """The node `serial` at the location (None: not claimed there), listing it if needed.

        `fetch` lists the location's nodes; its errors propagate and nothing is remembered.
        """
        key = (customer_id, location_id)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            listing = self._listings.get(key)
            if (
                listing is None
                or serial in listing.served
                or self._clock() - listing.fetched > self._ttl
            ):
                nodes = fetch()
                listing = _Listing(self._clock(), {n.serial_number: n for n in nodes})
                self._listings[key] = listing
            listing.served.add(serial)
            return listing.nodes.get(serial)

    def forget(self, customer_id: str, location_id: str | None = None) -> None:
        """Drop the listings of a location (or of every location of a customer)."""
        with self._guard:
            for key in list(self._listings):
                if key[0] == customer_id and location_id in (None, key[1]):
                    del self._listings[key]

    def clear(self) -> None:
        with self._guard:
            self._listings.clear()


class PackClaims:
    """Nodes a claim answer of this process listed besides the serial it claimed."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._guard = threading.Lock()
        self._nodes: dict[tuple[str, str, str], tuple[float, Node]] = {}
        self._locks: dict[Key, threading.Lock] = {}

    def claiming(self, customer_id: str, location_id: str) -> threading.Lock:
        """The lock that serializes this process's claims at one location, so that a pack
        sibling's create finds what the first claim claimed instead of racing it."""
        with self._guard:
            return self._locks.setdefault((customer_id, location_id), threading.Lock())

    def remember(self, customer_id: str, location_id: str, nodes: Iterable[Node]) -> None:
        now = self._clock()
        with self._guard:
            for node in nodes:
                self._nodes[(customer_id, location_id, node.serial_number)] = (now, node)

    def take(self, customer_id: str, location_id: str, serial: str) -> Node | None:
        """The remembered node (once), if this process claimed it there within `ttl`."""
        with self._guard:
            found = self._nodes.pop((customer_id, location_id, serial), None)
        if found is None or self._clock() - found[0] > self._ttl:
            return None
        return found[1]

    def clear(self) -> None:
        with self._guard:
            self._nodes.clear()
