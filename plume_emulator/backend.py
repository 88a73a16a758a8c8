"""The Plume Cloud's state and every rule of the API (moto's "backend").

Routes parse a request and call one method here; each method runs in one
SQLite transaction and either returns JSON-ready data or raises an
``EmulatorError`` carrying the status. Validation happens before the first
write, so a rejected request never changes state.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import UTC, datetime
from typing import Any

from plume_emulator import rules
from plume_emulator.auth import Principal
from plume_emulator.db import SCHEMA_VERSION, Database
from plume_emulator.errors import (
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_found,
    unauthorized,
)
from plume_emulator.models import CustomerPatch, RegisterBody
from plume_emulator.options import EmulatorOptions
from plume_emulator.seed import InventoryFile, seed

JSON = dict[str, Any]


def _new_id() -> str:
    """A Mongo-ObjectId-shaped identifier, like Plume's."""
    return secrets.token_hex(12)


def _version(n: int) -> str:
    return str(n)


class PlumeBackend:
    """All customers, locations and nodes of the lab, with Plume's rules."""

    def __init__(
        self, db: Database, options: EmulatorOptions, inventory: InventoryFile | None = None
    ) -> None:
        self.db = db
        self.options = options
        self.inventory = inventory
        self._clock = options.clock
        if db.ensure_schema():
            with db.write() as conn:
                self._seed(conn, new_secret=True)

    # ----------------------------------------------------------------- lifecycle
    def _seed(self, conn: sqlite3.Connection, *, new_secret: bool) -> None:
        seed(conn, self.inventory)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )
        if new_secret:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('token_secret', ?)",
                (secrets.token_hex(32),),
            )

    def reset(self) -> None:
        """Back to fresh seed data (the token secret is kept, so issued tokens stay valid).

        Inventory rows are never inserted or deleted by the API, only claimed, so
        un-claiming the touched ones restores the seed exactly and much faster than
        re-inserting thousands of nodes.
        """
        with self.db.write() as conn:
            conn.execute(
                "UPDATE nodes SET customer_id = NULL, location_id = NULL, nickname = NULL,"
                " claim_order = NULL, updated_at = created_at, version = 1 WHERE version != 1"
            )
            conn.execute("DELETE FROM locations")
            conn.execute("DELETE FROM customers")

    def token_secret(self) -> bytes:
        """The HMAC key of this lab's tokens."""
        row = (
            self.db.connection()
            .execute("SELECT value FROM meta WHERE key = 'token_secret'")
            .fetchone()
        )
        return bytes.fromhex(row["value"])

    def now(self) -> str:
        """The clock as Plume prints timestamps (ISO 8601, milliseconds, Z)."""
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")

    # ----------------------------------------------------------------- partners
    def authenticate_client(self, client_id: str, client_secret: str) -> str | None:
        """The partner id of a client whose secret matches, else None."""
        row = (
            self.db.connection()
            .execute("SELECT id, client_secret FROM partners WHERE client_id = ?", (client_id,))
            .fetchone()
        )
        if row is None or not secrets.compare_digest(
            row["client_secret"].encode(), client_secret.encode()
        ):
            return None
        return str(row["id"])

    # ----------------------------------------------------------------- lookups
    def _customer(self, conn: sqlite3.Connection, who: Principal, customer_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        if row is None:
            raise not_found(f"customer {customer_id} not found")
        if row["partner_id"] != who.partner_id:
            raise unauthorized(
                f"customer {customer_id} is not within the scope of partner "
                f"{who.partner_id or '(token has no partnerId)'}"
            )
        if row["deleted"]:
            raise not_found(f"customer {customer_id} was deleted")
        return row

    def _location(
        self,
        conn: sqlite3.Connection,
        customer: sqlite3.Row,
        location_id: str,
        *,
        archived_ok: bool = False,
    ) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM locations WHERE id = ? AND customer_id = ?",
            (location_id, customer["id"]),
        ).fetchone()
        if row is None or (row["archived"] and not archived_ok):
            raise not_found(f"location {location_id} not found for customer {customer['id']}")
        return row

    def _email_taken(
        self, conn: sqlite3.Connection, email: str, except_id: str | None = None
    ) -> bool:
        row = conn.execute(
            "SELECT id FROM customers WHERE email = ? COLLATE NOCASE AND deleted = 0 AND id != ?",
            (email, except_id or ""),
        ).fetchone()
        return row is not None

    def _account_owner(
        self, conn: sqlite3.Connection, partner_id: str, account_id: str, except_id: str = ""
    ) -> str | None:
        row = conn.execute(
            "SELECT id FROM customers WHERE partner_id = ? AND account_id = ? AND deleted = 0"
            " AND id != ?",
            (partner_id, account_id, except_id),
        ).fetchone()
        return None if row is None else str(row["id"])

    # ----------------------------------------------------------------- rendering
    @staticmethod
    def _render_customer(row: sqlite3.Row) -> JSON:
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
            "_version": _version(row["version"]),
        }

    @staticmethod
    def _render_location(row: sqlite3.Row, customer: sqlite3.Row) -> JSON:
        checkpoint = (
            {"value": row["checkpoint"], "timestamp": row["checkpoint_at"]}
            if row["checkpoint"]
            else None
        )
        return {
            "id": row["id"],
            "name": row["name"],
            "customerId": customer["id"],
            "partnerId": customer["partner_id"],
            "accountId": customer["account_id"],
            "profile": row["profile"],
            "serviceId": row["service_id"],
            "monitorMode": bool(row["monitor_mode"]),
            "authorizations": {"numPodsAuthorized": row["num_pods_authorized"]},
            "onboardingCheckpoint": checkpoint,
            "createdAt": row["created_at"],
            "_version": _version(row["version"]),
        }

    @staticmethod
    def _render_node(row: sqlite3.Row) -> JSON:
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
            "_version": _version(row["version"]),
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
        }

    def _insert_location(
        self, conn: sqlite3.Connection, customer_id: str, profile: str, checkpoint: str | None
    ) -> str:
        location_id = _new_id()
        now = self.now()
        conn.execute(
            "INSERT INTO locations (id, customer_id, name, profile, service_id,"
            " num_pods_authorized, checkpoint, checkpoint_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                location_id,
                customer_id,
                "Home" if profile == "auto" else "Office",
                profile,
                f"svc-{location_id[:12]}",
                self.options.pods_authorized,
                checkpoint,
                now if checkpoint else None,
                now,
            ),
        )
        return location_id

    def _unclaim_location(self, conn: sqlite3.Connection, location_id: str) -> None:
        conn.execute(
            "UPDATE nodes SET customer_id = NULL, location_id = NULL, nickname = NULL,"
            " claim_order = NULL, updated_at = ?, version = version + 1 WHERE location_id = ?",
            (self.now(), location_id),
        )

    # ----------------------------------------------------------------- customers
    def register_customer(self, who: Principal, body: RegisterBody) -> JSON:
        """Create a customer and its first location (see the register table of plume-api.md)."""
        rules.check_text("accountId", body.accountId, required=True)
        if body.name is not None:
            rules.check_text("name", body.name)
        if body.email is not None:
            rules.check_email(body.email)
        profile = body.profile if body.profile is not None else "auto"
        rules.check_profile(profile)
        language = body.acceptLanguage if body.acceptLanguage is not None else "en-US"
        rules.check_language(language)
        if body.onboardingCheckpoint is not None:
            rules.check_checkpoint(body.onboardingCheckpoint)
        if body.password is not None:
            rules.check_password(body.password)
        with self.db.write() as conn:
            partner = conn.execute(
                "SELECT id, locked FROM partners WHERE id = ?", (body.partnerId,)
            ).fetchone()
            if partner is None:
                raise not_found(f"partnerId {body.partnerId} does not exist on this Plume Cloud")
            if partner["locked"]:
                raise forbidden(
                    f"partnerId {body.partnerId} is not allowed to provision new Plume accounts",
                    "PartnerLocked",
                )
            if who.partner_id is None:
                raise invalid("missing partnerId in authorization token")
            if who.partner_id != body.partnerId:
                raise invalid(
                    f"partnerId {body.partnerId} does not match the authorization token's "
                    f"partnerId {who.partner_id}"
                )
            email = body.email or f"null+{secrets.token_hex(8)}@plume.com"
            if self._email_taken(conn, email):
                raise invalid(f"email {email} already exists in the Plume Cloud")
            owner = self._account_owner(conn, body.partnerId, body.accountId)
            if owner is not None:
                raise conflict(
                    f"accountId {body.accountId} already exists for partner {body.partnerId} "
                    f"(customer {owner}): duplicate key"
                )
            customer_id = _new_id()
            now = self.now()
            conn.execute(
                "INSERT INTO customers (id, partner_id, account_id, name, email, accept_language,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (customer_id, body.partnerId, body.accountId, body.name, email, language, now, now),
            )
            location_id = self._insert_location(
                conn, customer_id, profile, body.onboardingCheckpoint
            )
            row = conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
        return {**self._render_customer(row), "locationId": location_id}

    def get_customer(self, who: Principal, customer_id: str) -> JSON:
        with self.db.read() as conn:
            return self._render_customer(self._customer(conn, who, customer_id))

    def update_customer(self, who: Principal, customer_id: str, patch: CustomerPatch) -> JSON:
        """Change accountId, name and/or email; same rules as register."""
        changes = {name: getattr(patch, name) for name in patch.model_fields_set}
        for name, value in changes.items():
            if value is None:
                raise invalid(f"{name} must not be null")
        if "accountId" in changes:
            rules.check_text("accountId", changes["accountId"], required=True)
        if "name" in changes:
            rules.check_text("name", changes["name"])
        if "email" in changes:
            rules.check_email(changes["email"])
        with self.db.write() as conn:
            row = self._customer(conn, who, customer_id)
            if "email" in changes and self._email_taken(conn, changes["email"], customer_id):
                raise invalid(f"email {changes['email']} already exists in the Plume Cloud")
            if "accountId" in changes:
                owner = self._account_owner(
                    conn, row["partner_id"], changes["accountId"], customer_id
                )
                if owner is not None:
                    raise conflict(
                        f"accountId {changes['accountId']} is already used by customer {owner} "
                        f"of partner {row['partner_id']}"
                    )
            if changes:
                conn.execute(
                    "UPDATE customers SET account_id = ?, name = ?, email = ?, updated_at = ?,"
                    " version = version + 1 WHERE id = ?",
                    (
                        changes.get("accountId", row["account_id"]),
                        changes.get("name", row["name"]),
                        changes.get("email", row["email"]),
                        self.now(),
                        customer_id,
                    ),
                )
                row = conn.execute(
                    "SELECT * FROM customers WHERE id = ?", (customer_id,)
                ).fetchone()
        return self._render_customer(row)

    def delete_customer(self, who: Principal, customer_id: str) -> JSON:
        """Archive every location, unclaim their nodes, delete the account."""
        with self.db.write() as conn:
            self._customer(conn, who, customer_id)
            for loc in conn.execute(
                "SELECT id FROM locations WHERE customer_id = ? AND archived = 0", (customer_id,)
            ).fetchall():
                self._unclaim_location(conn, loc["id"])
            conn.execute(
                "UPDATE locations SET archived = 1, version = version + 1 WHERE customer_id = ?",
                (customer_id,),
            )
            conn.execute(
                "UPDATE customers SET deleted = 1, updated_at = ?, version = version + 1"
                " WHERE id = ?",
                (self.now(), customer_id),
            )
        return {"count": 1}

    # ----------------------------------------------------------------- locations
    def list_locations(self, who: Principal, customer_id: str) -> list[JSON]:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            rows = conn.execute(
                "SELECT * FROM locations WHERE customer_id = ? AND archived = 0 ORDER BY rowid",
                (customer_id,),
            ).fetchall()
            return [self._render_location(row, customer) for row in rows]

    def get_location(self, who: Principal, customer_id: str, location_id: str) -> JSON:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            return self._render_location(self._location(conn, customer, location_id), customer)

    def delete_location(self, who: Principal, customer_id: str, location_id: str) -> None:
        """Archive a location and unclaim its nodes; a customer never ends up location-less."""
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            loc = self._location(conn, customer, location_id, archived_ok=True)
            if loc["archived"]:
                raise conflict(
                    f"location {location_id} of customer {customer_id} is already archived"
                )
            self._unclaim_location(conn, location_id)
            conn.execute(
                "UPDATE locations SET archived = 1, version = version + 1 WHERE id = ?",
                (location_id,),
            )
            remaining = conn.execute(
                "SELECT COUNT(*) FROM locations WHERE customer_id = ? AND archived = 0",
                (customer_id,),
            ).fetchone()[0]
            if remaining == 0:
                self._insert_location(conn, customer_id, "auto", None)

    def set_checkpoint(
        self, who: Principal, customer_id: str, location_id: str, checkpoint: str
    ) -> JSON:
        rules.check_checkpoint(checkpoint, "checkpoint")
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            now = self.now()
            conn.execute(
                "UPDATE locations SET checkpoint = ?, checkpoint_at = ?, version = version + 1"
                " WHERE id = ?",
                (checkpoint, now, location_id),
            )
        return {"checkpoint": {"value": checkpoint, "timestamp": now}}

    def search_customers(
        self, who: Principal, value: str, field: str, exact: bool, starts_with: bool
    ) -> list[JSON]:
        """``/Partners/customers/search/{value}``: this partner's live customers matching."""
        if field not in rules.SEARCH_FIELDS:
            raise invalid(
                f"field {field!r} is not searchable (allowed: {', '.join(rules.SEARCH_FIELDS)})"
            )
        if value.lower() == "null":
            raise invalid("search keyword 'null' is not allowed")
        if who.partner_id is None:
            raise forbidden("the authorization token carries no partnerId to search in")
        with self.db.read() as conn:
            if field == "locationId":
                owner = conn.execute(
                    "SELECT c.partner_id FROM locations l JOIN customers c ON c.id = l.customer_id"
                    " WHERE l.id = ?",
                    (value,),
                ).fetchone()
                if owner is not None and owner["partner_id"] != who.partner_id:
                    raise forbidden(f"location {value} belongs to another partner")
            customers = conn.execute(
                "SELECT * FROM customers WHERE partner_id = ? AND deleted = 0 ORDER BY rowid",
                (who.partner_id,),
            ).fetchall()
            results: list[JSON] = []
            for row in customers:
                locations = [
                    loc["id"]
                    for loc in conn.execute(
                        "SELECT id FROM locations WHERE customer_id = ? AND archived = 0"
                        " ORDER BY rowid",
                        (row["id"],),
                    ).fetchall()
                ]
                if field == "locationId":
                    candidates = locations
                else:
                    column = {"accountId": "account_id", "name": "name", "email": "email"}[field]
                    candidates = [row[column] or ""]
                if any(_matches(c, value, exact, starts_with) for c in candidates):
                    results.append(
                        {
                            "id": row["id"],
                            "accountId": row["account_id"],
                            "name": row["name"],
                            "email": row["email"],
                            "locations": [{"id": loc} for loc in locations],
                        }
                    )
        if not results:
            raise not_found(f"no customer of partner {who.partner_id} has {field} {value!r}")
        return results

    # ----------------------------------------------------------------- nodes
    def claim_node(
        self,
        who: Principal,
        customer_id: str,
        location_id: str,
        serial: str,
        nickname: str | None,
    ) -> list[JSON] | None:
        """Claim a node (and the rest of its pack); None when it is already claimed here."""
        rules.check_serial(serial)
        if nickname is not None:
            rules.check_nickname(nickname)
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            loc = self._location(conn, customer, location_id)
            partner = customer["partner_id"]
            node = conn.execute("SELECT * FROM nodes WHERE serial = ?", (serial,)).fetchone()
            if node is None or node["partner_id"] != partner:
                raise not_found(f"serial {serial} is not in partner {partner}'s inventory")
            if node["location_id"] == location_id:
                return None
            if node["location_id"] is not None:
                raise conflict(
                    f"serial {serial} is already owned by customer {node['customer_id']} "
                    f"(location {node['location_id']}); unclaim it there first"
                )
            if loc["monitor_mode"]:
                raise invalid(f"location {location_id} is in monitor mode; nodes cannot be claimed")
            batch = [node]
            if node["pack_id"] is not None:
                batch += conn.execute(
                    "SELECT * FROM nodes WHERE pack_id = ? AND partner_id = ? AND serial != ?"
                    " AND location_id IS NULL ORDER BY serial",
                    (node["pack_id"], partner, serial),
                ).fetchall()
            in_use = conn.execute(
                "SELECT COUNT(*) FROM nodes WHERE location_id = ?", (location_id,)
            ).fetchone()[0]
            limit = loc["num_pods_authorized"]
            if in_use + len(batch) > limit:
                extra = (
                    f" with {len(batch) - 1} more nodes of pack {node['pack_id']}"
                    if len(batch) > 1
                    else ""
                )
                raise invalid(
                    f"claiming serial {serial}{extra} at location {location_id} would exceed "
                    f"numPodsAuthorized={limit} ({in_use} licenses in use)"
                )
            order = conn.execute("SELECT COALESCE(MAX(claim_order), 0) FROM nodes").fetchone()[0]
            now = self.now()
            for offset, row in enumerate(batch, start=1):
                conn.execute(
                    "UPDATE nodes SET customer_id = ?, location_id = ?, nickname = ?,"
                    " claim_order = ?, updated_at = ?, version = version + 1 WHERE serial = ?",
                    (
                        customer_id,
                        location_id,
                        nickname if row["serial"] == serial else None,
                        order + offset,
                        now,
                        row["serial"],
                    ),
                )
            claimed = [
                conn.execute("SELECT * FROM nodes WHERE serial = ?", (row["serial"],)).fetchone()
                for row in batch
            ]
        return [self._render_node(row) for row in claimed]

    def list_nodes(self, who: Principal, customer_id: str, location_id: str) -> list[JSON]:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            rows = conn.execute(
                "SELECT * FROM nodes WHERE location_id = ? ORDER BY claim_order", (location_id,)
            ).fetchall()
        return [self._render_node(row) for row in rows]

    def rename_node(
        self, who: Principal, customer_id: str, location_id: str, node_id: str, nickname: str
    ) -> JSON:
        rules.check_nickname(nickname)
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            updated = conn.execute(
                "UPDATE nodes SET nickname = ?, updated_at = ?, version = version + 1"
                " WHERE serial = ? AND location_id = ?",
                (nickname, self.now(), node_id, location_id),
            ).rowcount
            if not updated:
                raise not_found(f"node {node_id} is not claimed at location {location_id}")
            row = conn.execute("SELECT * FROM nodes WHERE serial = ?", (node_id,)).fetchone()
        return self._render_node(row)

    def unclaim_node(self, who: Principal, customer_id: str, location_id: str, serial: str) -> None:
        """Release a node and its license (400 if it is not claimed here)."""
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            updated = conn.execute(
                "UPDATE nodes SET customer_id = NULL, location_id = NULL, nickname = NULL,"
                " claim_order = NULL, updated_at = ?, version = version + 1"
                " WHERE serial = ? AND location_id = ?",
                (self.now(), serial, location_id),
            ).rowcount
            if updated:
                return
            in_use = conn.execute(
                "SELECT COUNT(*) FROM nodes WHERE location_id = ?", (location_id,)
            ).fetchone()[0]
            if in_use == 0:
                raise not_found(
                    f"location {location_id} has no claimed nodes "
                    f"(serial {serial} is not claimed there)"
                )
            raise bad_request(
                f"serial {serial} is not claimed at location {location_id}: node already unclaimed",
                "NodeAlreadyUnclaimed",
            )

    def lookup_node(self, who: Principal, serial: str) -> JSON:
        """``GET /Partners/nodes/{serialNumber}``: where a node of this partner sits."""
        row = (
            self.db.connection()
            .execute(
                "SELECT serial, pack_id, partner_id, customer_id, location_id FROM nodes"
                " WHERE serial = ?",
                (serial,),
            )
            .fetchone()
        )
        if row is None:
            raise not_found(f"serial {serial} is not in any inventory of this Plume Cloud")
        if row["partner_id"] != who.partner_id:
            raise forbidden(
                f"serial {serial} belongs to another partner's inventory, not "
                f"{who.partner_id or '(token has no partnerId)'}"
            )
        result: JSON = {
            "serialNumber": row["serial"],
            "packId": row["pack_id"],
            "partnerId": row["partner_id"],
        }
        if row["location_id"] is not None:
            result["customerId"] = row["customer_id"]
            result["locationId"] = row["location_id"]
        return result

    # ----------------------------------------------------------------- test view
    def state(self) -> JSON:
        """The ``/_emulator/state`` document: live customers, locations and claimed nodes."""
        with self.db.read() as conn:
            partners: JSON = {
                row["id"]: {"customers": [], "claimed_nodes": [], "licenses_in_use": 0}
                for row in conn.execute("SELECT id FROM partners ORDER BY id")
            }
            by_location: dict[str, list[str]] = {}
            for node in conn.execute(
                "SELECT serial, partner_id, customer_id, location_id FROM nodes"
                " WHERE location_id IS NOT NULL ORDER BY claim_order"
            ):
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
            customers: dict[str, JSON] = {}
            for row in conn.execute("SELECT * FROM customers WHERE deleted = 0 ORDER BY rowid"):
                customer: JSON = {
                    "id": row["id"],
                    "accountId": row["account_id"],
                    "name": row["name"],
                    "email": row["email"],
                    "locations": [],
                }
                customers[row["id"]] = customer
                partners[row["partner_id"]]["customers"].append(customer)
            for loc in conn.execute(
                "SELECT id, customer_id, num_pods_authorized FROM locations WHERE archived = 0"
                " ORDER BY rowid"
            ):
                owner = customers.get(loc["customer_id"])
                if owner is not None:
                    owner["locations"].append(
                        {
                            "id": loc["id"],
                            "numPodsAuthorized": loc["num_pods_authorized"],
                            "nodes": by_location.get(loc["id"], []),
                        }
                    )
        return {"partners": partners}


def _matches(candidate: str, value: str, exact: bool, starts_with: bool) -> bool:
    if exact:
        return candidate == value
    if starts_with:
        return candidate.startswith(value)
    return value in candidate
