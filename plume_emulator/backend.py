"""The rules of every ``/api`` call (moto's "backend"): who may do what, and which status says no.

Routes parse a request and call one method here; each method runs in one
SQLite transaction, reads and writes through :mod:`plume_emulator.store`, and
either returns the JSON of :mod:`plume_emulator.render` or raises an
``EmulatorError`` carrying the status. Validation happens before the first
write, so a rejected request never changes state. The methods block on SQLite:
routes run them in a worker thread, never on the event loop.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime

from plume_emulator import render, rules, store
from plume_emulator.auth import Principal
from plume_emulator.db import Database
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
from plume_emulator.render import JSON

_SEARCH_COLUMNS = {"accountId": "account_id", "name": "name", "email": "email"}


def _new_id() -> str:
    """A Mongo-ObjectId-shaped identifier, like Plume's."""
    return secrets.token_hex(12)


class PlumeBackend:
    """All customers, locations and nodes of the lab, with Plume's rules."""

    def __init__(self, db: Database, options: EmulatorOptions) -> None:
        self.db = db
        self.options = options
        self._clock = options.clock

    def now(self) -> str:
        """The clock as Plume prints timestamps (ISO 8601, milliseconds, Z)."""
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")

    # ----------------------------------------------------------------- lookups
    @staticmethod
    def _customer(conn: sqlite3.Connection, who: Principal, customer_id: str) -> sqlite3.Row:
        row = store.customer(conn, customer_id)
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

    @staticmethod
    def _location(
        conn: sqlite3.Connection,
        customer: sqlite3.Row,
        location_id: str,
        *,
        archived_ok: bool = False,
    ) -> sqlite3.Row:
        row = store.location(conn, customer["id"], location_id)
        if row is None or (row["archived"] and not archived_ok):
            raise not_found(f"location {location_id} not found for customer {customer['id']}")
        return row

    def _new_location(
        self, conn: sqlite3.Connection, customer_id: str, profile: str, checkpoint: str | None
    ) -> str:
        location_id = _new_id()
        store.insert_location(
            conn,
            location_id=location_id,
            customer_id=customer_id,
            name="Home" if profile == "auto" else "Office",
            profile=profile,
            service_id=f"svc-{location_id[:12]}",
            pods_authorized=self.options.pods_authorized,
            checkpoint=checkpoint,
            now=self.now(),
        )
        return location_id

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
            partner = store.partner(conn, body.partnerId)
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
            if store.email_owner(conn, email) is not None:
                raise invalid(f"email {email} already exists in the Plume Cloud")
            owner = store.account_owner(conn, body.partnerId, body.accountId)
            if owner is not None:
                raise conflict(
                    f"accountId {body.accountId} already exists for partner {body.partnerId} "
                    f"(customer {owner}): duplicate key"
                )
            customer_id = _new_id()
            store.insert_customer(
                conn,
                customer_id=customer_id,
                partner_id=body.partnerId,
                account_id=body.accountId,
                name=body.name,
                email=email,
                language=language,
                now=self.now(),
            )
            location_id = self._new_location(conn, customer_id, profile, body.onboardingCheckpoint)
            row = store.customer(conn, customer_id)
        assert row is not None
        return {**render.customer(row), "locationId": location_id}

    def get_customer(self, who: Principal, customer_id: str) -> JSON:
        with self.db.read() as conn:
            return render.customer(self._customer(conn, who, customer_id))

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
            if "email" in changes and store.email_owner(conn, changes["email"], customer_id):
                raise invalid(f"email {changes['email']} already exists in the Plume Cloud")
            if "accountId" in changes:
                owner = store.account_owner(
                    conn, row["partner_id"], changes["accountId"], customer_id
                )
                if owner is not None:
                    raise conflict(
                        f"accountId {changes['accountId']} is already used by customer {owner} "
                        f"of partner {row['partner_id']}"
                    )
            if changes:
                store.update_customer(
                    conn,
                    customer_id=customer_id,
                    account_id=changes.get("accountId", row["account_id"]),
                    name=changes.get("name", row["name"]),
                    email=changes.get("email", row["email"]),
                    now=self.now(),
                )
                row = self._customer(conn, who, customer_id)
        return render.customer(row)

    def delete_customer(self, who: Principal, customer_id: str) -> JSON:
        """Archive every location, unclaim their nodes, delete the account."""
        with self.db.write() as conn:
            self._customer(conn, who, customer_id)
            now = self.now()
            for loc in store.live_locations(conn, customer_id):
                store.release_nodes(conn, loc["id"], now)
                store.archive_location(conn, loc["id"])
            store.mark_customer_deleted(conn, customer_id, now)
        return {"count": 1}

    # ----------------------------------------------------------------- locations
    def list_locations(self, who: Principal, customer_id: str) -> list[JSON]:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            rows = store.live_locations(conn, customer_id)
        return [render.location(row, customer) for row in rows]

    def get_location(self, who: Principal, customer_id: str, location_id: str) -> JSON:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            return render.location(self._location(conn, customer, location_id), customer)

    def delete_location(self, who: Principal, customer_id: str, location_id: str) -> None:
        """Archive a location and unclaim its nodes; a customer never ends up location-less."""
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            loc = self._location(conn, customer, location_id, archived_ok=True)
            if loc["archived"]:
                raise conflict(
                    f"location {location_id} of customer {customer_id} is already archived"
                )
            store.release_nodes(conn, location_id, self.now())
            store.archive_location(conn, location_id)
            if not store.live_locations(conn, customer_id):
                self._new_location(conn, customer_id, "auto", None)

    def set_checkpoint(
        self, who: Principal, customer_id: str, location_id: str, checkpoint: str
    ) -> JSON:
        rules.check_checkpoint(checkpoint, "checkpoint")
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            now = self.now()
            store.set_checkpoint(conn, location_id, checkpoint, now)
        return {"checkpoint": render.checkpoint(checkpoint, now)}

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
        results: list[JSON] = []
        with self.db.read() as conn:
            if field == "locationId":
                owner = store.partner_of_location(conn, value)
                if owner is not None and owner != who.partner_id:
                    raise forbidden(f"location {value} belongs to another partner")
            for row in store.live_customers(conn, who.partner_id):
                locations = [loc["id"] for loc in store.live_locations(conn, row["id"])]
                if field == "locationId":
                    candidates = locations
                else:
                    candidates = [row[_SEARCH_COLUMNS[field]] or ""]
                if any(_matches(c, value, exact, starts_with) for c in candidates):
                    results.append(render.search_hit(row, locations))
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
            node = store.node(conn, serial)
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
            batch = [serial]
            if node["pack_id"] is not None:
                mates = store.free_pack_mates(conn, node["pack_id"], partner, serial)
                batch += [mate["serial"] for mate in mates]
            in_use = store.count_nodes_at(conn, location_id)
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
            order = store.last_claim_order(conn)
            now = self.now()
            for offset, claimed in enumerate(batch, start=1):
                store.claim_node(
                    conn,
                    serial=claimed,
                    customer_id=customer_id,
                    location_id=location_id,
                    nickname=nickname if claimed == serial else None,
                    order=order + offset,
                    now=now,
                )
            rows = [store.node(conn, claimed) for claimed in batch]
        return [render.node(row) for row in rows if row is not None]

    def list_nodes(self, who: Principal, customer_id: str, location_id: str) -> list[JSON]:
        with self.db.read() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            rows = store.nodes_at(conn, location_id)
        return [render.node(row) for row in rows]

    def rename_node(
        self, who: Principal, customer_id: str, location_id: str, node_id: str, nickname: str
    ) -> JSON:
        rules.check_nickname(nickname)
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            row = None
            if store.rename_node(conn, node_id, location_id, nickname, self.now()):
                row = store.node(conn, node_id)
            if row is None:
                raise not_found(f"node {node_id} is not claimed at location {location_id}")
        return render.node(row)

    def unclaim_node(self, who: Principal, customer_id: str, location_id: str, serial: str) -> None:
        """Release a node and its license (400 if it is not claimed here)."""
        with self.db.write() as conn:
            customer = self._customer(conn, who, customer_id)
            self._location(conn, customer, location_id)
            if store.release_nodes(conn, location_id, self.now(), serial):
                return
            if store.count_nodes_at(conn, location_id) == 0:
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
        with self.db.read() as conn:
            row = store.node(conn, serial)
        if row is None:
            raise not_found(f"serial {serial} is not in any inventory of this Plume Cloud")
        if row["partner_id"] != who.partner_id:
            raise forbidden(
                f"serial {serial} belongs to another partner's inventory, not "
                f"{who.partner_id or '(token has no partnerId)'}"
            )
        return render.node_lookup(row)


def _matches(candidate: str, value: str, exact: bool, starts_with: bool) -> bool:
    if exact:
        return candidate == value
    if starts_with:
        return candidate.startswith(value)
    return value in candidate
