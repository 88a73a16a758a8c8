"""The JSON documents the API answers with, built from database rows.

Plume's field names, types and constant fields live here only: the backend
decides what to answer, this module how it reads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

JSON = dict[str, Any]


def customer(row: sqlite3.Row) -> JSON:
    """A customer as ``GET /Customers/{id}`` returns it."""
    return {
        "id": row["id"],
        "accountId": row["account_id"],
        "partnerId": row["partner_id"],
        "name": row["name"],
        "email": row["email"],
        "acceptLanguage": row["accept_language"],
        "emailVerified": bool(row["email_verified"]),
        "anonymous": False,
        "autoProvisioned": False,
        "systemUser": False,
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "_version": str(row["version"]),
    }


def location(row: sqlite3.Row, owner: sqlite3.Row) -> JSON:
    """A location of the customer ``owner``."""
    return {
        "id": row["id"],
        "name": row["name"],
        "customerId": owner["id"],
        "partnerId": owner["partner_id"],
        "accountId": owner["account_id"],
        "profile": row["profile"],
        "serviceId": row["service_id"],
        "monitorMode": bool(row["monitor_mode"]),
        "authorizations": {"numPodsAuthorized": row["num_pods_authorized"]},
        "onboardingCheckpoint": (
            checkpoint(row["checkpoint"], row["checkpoint_at"]) if row["checkpoint"] else None
        ),
        "createdAt": row["created_at"],
        "_version": str(row["version"]),
    }


def checkpoint(value: str, timestamp: str) -> JSON:
    """An onboarding checkpoint and when it was set."""
    return {"value": value, "timestamp": timestamp}


def node(row: sqlite3.Row) -> JSON:
    """A node with its hardware attributes and where it is claimed."""
    return {
        "serialNumber": row["serial"],
        "id": row["serial"],
        "nickname": row["nickname"],
        "residentialGateway": bool(row["residential_gateway"]),
        "customerId": row["customer_id"],
        "locationId": row["location_id"],
        "radioMac24": row["radio_mac24"],
        "radioMac50": row["radio_mac50"],
        "ethernetMac": row["ethernet_mac"],
        "bluetoothMac": row["bluetooth_mac"],
        "macs": json.loads(row["macs"]),
        "packId": row["pack_id"],
        "boxSerialNumber": row["box_serial_number"],
        "partNumber": row["part_number"],
        "manufacturerFirmware": row["manufacturer_firmware"],
        "purchaseOrderNumber": row["purchase_order_number"],
        "shipDate": row["ship_date"],
        "backhaulDhcpPoolIdx": row["backhaul_dhcp_pool_idx"],
        "deployment": row["deployment"],
        "shardNumber": row["shard_number"],
        "_version": str(row["version"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def node_lookup(row: sqlite3.Row) -> JSON:
    """``GET /Partners/nodes/{serialNumber}``: the inventory entry, and its claim if any."""
    result: JSON = {
        "serialNumber": row["serial"],
        "packId": row["pack_id"],
        "partnerId": row["partner_id"],
    }
    if row["location_id"] is not None:
        result["customerId"] = row["customer_id"]
        result["locationId"] = row["location_id"]
    return result


def search_hit(row: sqlite3.Row, location_ids: Sequence[str]) -> JSON:
    """One customer of a search answer, with the ids of its live locations."""
    return {
        "id": row["id"],
        "accountId": row["account_id"],
        "name": row["name"],
        "email": row["email"],
        "locations": [{"id": location_id} for location_id in location_ids],
    }
