"""Every SQL statement the emulator runs on its data, each written once.

Functions take the connection of a transaction the caller opened
(:meth:`Database.write` / :meth:`Database.read`) and return rows or counts;
they decide nothing. The rules of the API live in :mod:`plume_emulator.backend`,
the schema in :mod:`plume_emulator.db`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

Row = sqlite3.Row

_UNCLAIMED = "customer_id = NULL, location_id = NULL, nickname = NULL, claim_order = NULL"
"""The columns a claim sets, back to an unclaimed node's values."""


# ----------------------------------------------------------------- meta
def meta_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


# ----------------------------------------------------------------- partners
def insert_partners(conn: sqlite3.Connection, rows: Iterable[Sequence[object]]) -> None:
    """Rows of (id, client_id, client_secret, locked); an existing id is replaced."""
    conn.executemany(
        "INSERT OR REPLACE INTO partners (id, client_id, client_secret, locked)"
        " VALUES (?, ?, ?, ?)",
        rows,
    )


def partner(conn: sqlite3.Connection, partner_id: str) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM partners WHERE id = ?", (partner_id,)).fetchone()
    return row


def partner_of_client(conn: sqlite3.Connection, client_id: str) -> Row | None:
    row: Row | None = conn.execute(
        "SELECT * FROM partners WHERE client_id = ?", (client_id,)
    ).fetchone()
    return row


def partner_ids(conn: sqlite3.Connection) -> list[str]:
    return [str(row["id"]) for row in conn.execute("SELECT id FROM partners ORDER BY id")]


# ----------------------------------------------------------------- customers
def customer(conn: sqlite3.Connection, customer_id: str) -> Row | None:
    """The customer row, deleted or not."""
    row: Row | None = conn.execute(
        "SELECT * FROM customers WHERE id = ?", (customer_id,)
    ).fetchone()
    return row


def live_customers(conn: sqlite3.Connection, partner_id: str) -> list[Row]:
    """A partner's customers that are not deleted, oldest first."""
    return conn.execute(
        "SELECT * FROM customers WHERE partner_id = ? AND deleted = 0 ORDER BY rowid",
        (partner_id,),
    ).fetchall()


def email_owner(conn: sqlite3.Connection, email: str, except_id: str = "") -> str | None:
    """The live customer (other than ``except_id``) with this email, in any case."""
    row = conn.execute(
        "SELECT id FROM customers WHERE email = ? COLLATE NOCASE AND deleted = 0 AND id != ?",
        (email, except_id),
    ).fetchone()
    return None if row is None else str(row["id"])


def account_owner(
    conn: sqlite3.Connection, partner_id: str, account_id: str, except_id: str = ""
) -> str | None:
    """The partner's live customer (other than ``except_id``) with this accountId."""
    row = conn.execute(
        "SELECT id FROM customers WHERE partner_id = ? AND account_id = ? AND deleted = 0"
        " AND id != ?",
        (partner_id, account_id, except_id),
    ).fetchone()
    return None if row is None else str(row["id"])


def insert_customer(
    conn: sqlite3.Connection,
    *,
    customer_id: str,
    partner_id: str,
    account_id: str,
    name: str | None,
    email: str,
    language: str,
    now: str,
) -> None:
    conn.execute(
        "INSERT INTO customers (id, partner_id, account_id, name, email, accept_language,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (customer_id, partner_id, account_id, name, email, language, now, now),
    )


def update_customer(
    conn: sqlite3.Connection,
    *,
    customer_id: str,
    account_id: str,
    name: str | None,
    email: str,
    now: str,
) -> None:
    conn.execute(
        "UPDATE customers SET account_id = ?, name = ?, email = ?, updated_at = ?,"
        " version = version + 1 WHERE id = ?",
        (account_id, name, email, now, customer_id),
    )


def mark_customer_deleted(conn: sqlite3.Connection, customer_id: str, now: str) -> None:
    conn.execute(
        "UPDATE customers SET deleted = 1, updated_at = ?, version = version + 1 WHERE id = ?",
        (now, customer_id),
    )


# ----------------------------------------------------------------- locations
def location(conn: sqlite3.Connection, customer_id: str, location_id: str) -> Row | None:
    """The customer's location, archived or not."""
    row: Row | None = conn.execute(
        "SELECT * FROM locations WHERE id = ? AND customer_id = ?", (location_id, customer_id)
    ).fetchone()
    return row


def live_locations(conn: sqlite3.Connection, customer_id: str) -> list[Row]:
    """The customer's locations that are not archived, oldest first."""
    return conn.execute(
        "SELECT * FROM locations WHERE customer_id = ? AND archived = 0 ORDER BY rowid",
        (customer_id,),
    ).fetchall()


def partner_of_location(conn: sqlite3.Connection, location_id: str) -> str | None:
    """The partner whose customer has this location (archived or not), if any."""
    row = conn.execute(
        "SELECT c.partner_id FROM locations l JOIN customers c ON c.id = l.customer_id"
        " WHERE l.id = ?",
        (location_id,),
    ).fetchone()
    return None if row is None else str(row["partner_id"])


def insert_location(
    conn: sqlite3.Connection,
    *,
    location_id: str,
    customer_id: str,
    name: str,
    profile: str,
    service_id: str,
    pods_authorized: int,
    checkpoint: str | None,
    now: str,
) -> None:
    conn.execute(
        "INSERT INTO locations (id, customer_id, name, profile, service_id,"
        " num_pods_authorized, checkpoint, checkpoint_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            location_id,
            customer_id,
            name,
            profile,
            service_id,
            pods_authorized,
            checkpoint,
            now if checkpoint else None,
            now,
        ),
    )


def archive_location(conn: sqlite3.Connection, location_id: str) -> None:
    conn.execute(
        "UPDATE locations SET archived = 1, version = version + 1 WHERE id = ?", (location_id,)
    )


def set_checkpoint(conn: sqlite3.Connection, location_id: str, checkpoint: str, now: str) -> None:
    conn.execute(
        "UPDATE locations SET checkpoint = ?, checkpoint_at = ?, version = version + 1"
        " WHERE id = ?",
        (checkpoint, now, location_id),
    )


# ----------------------------------------------------------------- nodes
def insert_nodes(conn: sqlite3.Connection, rows: Iterable[Sequence[object]]) -> None:
    """Inventory rows in the column order below; an existing serial is replaced."""
    conn.executemany(
        "INSERT OR REPLACE INTO nodes (serial, partner_id, pack_id, residential_gateway,"
        " radio_mac24, radio_mac50, ethernet_mac, bluetooth_mac, macs, box_serial_number,"
        " part_number, manufacturer_firmware, purchase_order_number, ship_date,"
        " backhaul_dhcp_pool_idx, deployment, shard_number, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def node(conn: sqlite3.Connection, serial: str) -> Row | None:
    row: Row | None = conn.execute("SELECT * FROM nodes WHERE serial = ?", (serial,)).fetchone()
    return row


def nodes_at(conn: sqlite3.Connection, location_id: str) -> list[Row]:
    """The nodes claimed at a location, in claim order."""
    return conn.execute(
        "SELECT * FROM nodes WHERE location_id = ? ORDER BY claim_order", (location_id,)
    ).fetchall()


def count_nodes_at(conn: sqlite3.Connection, location_id: str) -> int:
    """Licenses in use at a location."""
    count: int = conn.execute(
        "SELECT COUNT(*) FROM nodes WHERE location_id = ?", (location_id,)
    ).fetchone()[0]
    return count


def claimed_nodes(conn: sqlite3.Connection) -> list[Row]:
    """Every claimed node of every partner, in claim order."""
    return conn.execute(
        "SELECT * FROM nodes WHERE location_id IS NOT NULL ORDER BY claim_order"
    ).fetchall()


def free_pack_mates(
    conn: sqlite3.Connection, pack_id: str, partner_id: str, serial: str
) -> list[Row]:
    """The unclaimed nodes of the pack other than ``serial``, by serial."""
    return conn.execute(
        "SELECT * FROM nodes WHERE pack_id = ? AND partner_id = ? AND serial != ?"
        " AND location_id IS NULL ORDER BY serial",
        (pack_id, partner_id, serial),
    ).fetchall()


def last_claim_order(conn: sqlite3.Connection) -> int:
    """The highest claim order handed out so far (0 when none)."""
    order: int = conn.execute("SELECT COALESCE(MAX(claim_order), 0) FROM nodes").fetchone()[0]
    return order


def claim_node(
    conn: sqlite3.Connection,
    *,
    serial: str,
    customer_id: str,
    location_id: str,
    nickname: str | None,
    order: int,
    now: str,
) -> None:
    conn.execute(
        "UPDATE nodes SET customer_id = ?, location_id = ?, nickname = ?,"
        " claim_order = ?, updated_at = ?, version = version + 1 WHERE serial = ?",
        (customer_id, location_id, nickname, order, now, serial),
    )


def rename_node(
    conn: sqlite3.Connection, serial: str, location_id: str, nickname: str, now: str
) -> int:
    """Set the nickname of a node claimed at ``location_id``; the number of rows changed."""
    changed: int = conn.execute(
        "UPDATE nodes SET nickname = ?, updated_at = ?, version = version + 1"
        " WHERE serial = ? AND location_id = ?",
        (nickname, now, serial, location_id),
    ).rowcount
    return changed


def release_nodes(
    conn: sqlite3.Connection, location_id: str, now: str, serial: str | None = None
) -> int:
    """Unclaim the nodes of a location (only ``serial``, when given); the number released."""
    released: int = conn.execute(
        f"UPDATE nodes SET {_UNCLAIMED}, updated_at = ?, version = version + 1"
        " WHERE location_id = ? AND (? IS NULL OR serial = ?)",
        (now, location_id, serial, serial),
    ).rowcount
    return released


# ----------------------------------------------------------------- the whole lab
def restore_inventory(conn: sqlite3.Connection) -> None:
    """Every node touched since seeding back to its seed row (unclaimed, version 1).

    The API never inserts or deletes inventory rows, only claims them, so this
    restores the seed exactly, and much faster than re-inserting thousands of nodes.
    """
    conn.execute(
        f"UPDATE nodes SET {_UNCLAIMED}, updated_at = created_at, version = 1 WHERE version != 1"
    )


def delete_accounts(conn: sqlite3.Connection) -> None:
    """Every customer and location, deleted or live."""
    conn.execute("DELETE FROM locations")
    conn.execute("DELETE FROM customers")
