"""The data side of the developer API (``/_emulator/state``, ``/_emulator/reset``).

Kept apart from the Plume API's rules (LocalStack keeps its developer
endpoints in their own module too): these see every partner at once and
answer test questions ("which nodes are claimed?"), not Plume's. Each call
blocks on SQLite: routes run it in a worker thread.
"""

from __future__ import annotations

from plume_emulator import store
from plume_emulator.db import Database
from plume_emulator.render import JSON


def state(db: Database) -> JSON:
    """The ``/_emulator/state`` document: live customers, locations and claimed nodes."""
    with db.read() as conn:
        partners: JSON = {
            partner_id: {"customers": [], "claimed_nodes": [], "licenses_in_use": 0}
            for partner_id in store.partner_ids(conn)
        }
        by_location: dict[str, list[str]] = {}
        for node in store.claimed_nodes(conn):
            by_location.setdefault(node["location_id"], []).append(node["serial"])
            entry = partners[node["partner_id"]]
            entry["claimed_nodes"].append(
                {
                    "serialNumber": node["serial"],
                    "customerId": node["customer_id"],
                    "locationId": node["location_id"],
                }
            )
            entry["licenses_in_use"] += 1
        for partner_id, entry in partners.items():
            for row in store.live_customers(conn, partner_id):
                locations = [
                    {
                        "id": loc["id"],
                        "numPodsAuthorized": loc["num_pods_authorized"],
                        "nodes": by_location.get(loc["id"], []),
                    }
                    for loc in store.live_locations(conn, row["id"])
                ]
                entry["customers"].append(
                    {
                        "id": row["id"],
                        "accountId": row["account_id"],
                        "name": row["name"],
                        "email": row["email"],
                        "locations": locations,
                    }
                )
    return {"partners": partners}


def reset(db: Database) -> None:
    """Back to fresh seed data; the token signing key is kept, so issued tokens stay valid."""
    with db.write() as conn:
        store.restore_inventory(conn)
        store.delete_accounts(conn)
