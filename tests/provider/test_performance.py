"""The providers' own overhead per operation (the client replaced by an instant stub)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from plume_provider.client.models import (
    CheckpointResult,
    ClaimResult,
    Customer,
    CustomerSearchResult,
    Location,
    Node,
    NodeLookup,
)
from plume_provider.resources import CustomerProvider, NodeProvider

BUDGET_SECONDS = 0.005
ROUNDS = 200

CUSTOMER = Customer.model_validate(
    {
        "id": "cid",
        "accountId": "A-1",
        "partnerId": "p",
        "name": "Alice",
        "email": "a@example.org",
        "acceptLanguage": "en-US",
        "createdAt": "2024-01-01T00:00:00Z",
        "locationId": "lid",
    }
)
LOCATION = Location.model_validate({"id": "lid", "customerId": "cid", "profile": "auto"})
NODE = Node.model_validate(
    {
        "serialNumber": "S1",
        "id": "S1",
        "nickname": "n",
        "customerId": "cid",
        "locationId": "lid",
        "residentialGateway": True,
        "macs": ["aa"],
    }
)


class InstantClient:
    """Answers every call at once with prebuilt models."""

    partner_id = "p"

    def register_customer(self, registration: Any) -> Customer:
        return CUSTOMER

    def get_customer(self, customer_id: str) -> Customer:
        return CUSTOMER

    def list_locations(self, customer_id: str) -> list[Location]:
        return [LOCATION]

    def update_customer(self, customer_id: str, update: Any) -> Customer:
        return CUSTOMER

    def set_onboarding_checkpoint(self, *args: Any) -> CheckpointResult:
        return CheckpointResult(value="PodsAdded")

    def find_customers_by_account_id(self, account_id: str) -> list[CustomerSearchResult]:
        return []

    def delete_customer(self, customer_id: str) -> bool:
        return True

    def claim_node(self, *args: Any, **_kwargs: Any) -> ClaimResult:
        return ClaimResult(node=NODE, claimed=[NODE])

    def rename_node(self, *args: Any) -> Node:
        return NODE

    def lookup_node(self, serial: str) -> NodeLookup:
        return NodeLookup(serial_number="S1", customer_id="cid", location_id="lid")

    def list_nodes(self, *args: Any) -> list[Node]:
        return [NODE]

    def unclaim_node(self, *args: Any) -> bool:
        return True


def per_call(operation: Callable[[], object]) -> float:
    operation()  # warm up (lazy imports, settings)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        operation()
    return (time.perf_counter() - started) / ROUNDS


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> tuple[CustomerProvider, NodeProvider]:
    monkeypatch.setenv("PLUME_PARTNER_ID", "p")
    customers, nodes = CustomerProvider(), NodeProvider()
    customers._client = InstantClient()  # type: ignore[assignment]
    nodes._client = InstantClient()  # type: ignore[assignment]
    return customers, nodes


def test_overhead_per_operation_is_under_budget(
    stubbed: tuple[CustomerProvider, NodeProvider],
) -> None:
    customers, nodes = stubbed
    news = {"accountId": "A-1", "name": "Alice", "email": "a@example.org"}
    checked = customers.check({}, news).inputs
    outs = customers.create(checked).outs or {}
    renamed = {**checked, "name": "Bob"}
    node_news = {"customerId": "cid", "locationId": "lid", "serialNumber": "S1", "nickname": "n"}
    node_outs = nodes.create(node_news).outs or {}
    operations: dict[str, Callable[[], object]] = {
        "customer.check": lambda: customers.check({}, news),
        "customer.diff": lambda: customers.diff("cid", outs, renamed),
        "customer.create": lambda: customers.create(checked),
        "customer.read": lambda: customers.read("cid", outs),
        "customer.update": lambda: customers.update("cid", outs, renamed),
        "customer.delete": lambda: customers.delete("cid", outs),
        "node.check": lambda: nodes.check({}, node_news),
        "node.diff": lambda: nodes.diff("S1", node_outs, {**node_news, "nickname": "m"}),
        "node.create": lambda: nodes.create(node_news),
        "node.read": lambda: nodes.read("S1", node_outs),
        "node.update": lambda: nodes.update("S1", node_outs, {**node_news, "nickname": "m"}),
        "node.delete": lambda: nodes.delete("S1", node_outs),
    }
    timings = {name: per_call(op) for name, op in operations.items()}
    slow = {name: f"{t * 1000:.2f} ms" for name, t in timings.items() if t > BUDGET_SECONDS}
    assert not slow, f"over the {BUDGET_SECONDS * 1000:.0f} ms budget: {slow}"
