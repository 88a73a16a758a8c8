"""The lab stack's declared fleet as a test edits it between runs, and the URNs of its
resources, whichever engine runs the stack (the engine double or the real CLI)."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["CUSTOMER_TYPE", "NODE_TYPE", "LabFleet"]

CUSTOMER_TYPE = "pulumi-python:dynamic/plume:Customer"
NODE_TYPE = "pulumi-python:dynamic/plume:Node"
CUSTOMERS_KEY = "plume-fleet:customers"


class LabFleet:
    """Mixed into a lab: ``stack_config`` is the stack's config map, ``urn`` its URN maker."""

    @property
    def stack_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def urn(self, type_: str, name: str) -> str:
        raise NotImplementedError

    @property
    def customers(self) -> list[dict[str, Any]]:
        """A copy of the declared customers (edit it, then ``set_customers``)."""
        declared: list[dict[str, Any]] = self.stack_config[CUSTOMERS_KEY]
        return copy.deepcopy(declared)

    def set_customers(self, customers: list[dict[str, Any]]) -> None:
        self.stack_config[CUSTOMERS_KEY] = customers

    @staticmethod
    def customer(customers: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
        return next(c for c in customers if c["accountId"] == account_id)

    def serials(self) -> set[str]:
        return {n["serialNumber"] for c in self.customers for n in c.get("nodes", [])}

    def customer_urn(self, account_id: str) -> str:
        return self.urn(CUSTOMER_TYPE, f"customer-{account_id}")

    def node_urn(self, serial: str) -> str:
        return self.urn(NODE_TYPE, f"node-{serial}")
