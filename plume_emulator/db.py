"""SQLite storage: schema, one connection per thread, one transaction per call.

Writes run under ``BEGIN IMMEDIATE`` so two requests racing for the same serial
are serialised by SQLite itself (the loser sees the winner's claim). WAL mode
lets readers proceed while a writer holds the lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    client_secret TEXT NOT NULL,
    locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners(id),
    account_id TEXT NOT NULL,
    name TEXT,
    email TEXT NOT NULL,
    accept_language TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS customers_account
    ON customers(partner_id, account_id) WHERE deleted = 0;
CREATE UNIQUE INDEX IF NOT EXISTS customers_email
    ON customers(email COLLATE NOCASE) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS locations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    service_id TEXT NOT NULL,
    num_pods_authorized INTEGER NOT NULL,
    monitor_mode INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    checkpoint TEXT,
    checkpoint_at TEXT,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS locations_customer ON locations(customer_id);
CREATE TABLE IF NOT EXISTS nodes (
    serial TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners(id),
    pack_id TEXT,
    residential_gateway INTEGER NOT NULL,
    radio_mac24 TEXT NOT NULL,
    radio_mac50 TEXT NOT NULL,
    ethernet_mac TEXT NOT NULL,
    bluetooth_mac TEXT NOT NULL,
    macs TEXT NOT NULL,
    box_serial_number TEXT,
    part_number TEXT NOT NULL,
    manufacturer_firmware TEXT NOT NULL,
    purchase_order_number TEXT,
    ship_date TEXT,
    backhaul_dhcp_pool_idx INTEGER NOT NULL,
    deployment TEXT NOT NULL,
    shard_number TEXT NOT NULL,
    created_at TEXT NOT NULL,
    customer_id TEXT,
    location_id TEXT,
    nickname TEXT,
    claim_order INTEGER,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_location ON nodes(location_id) WHERE location_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS nodes_pack ON nodes(pack_id) WHERE pack_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS nodes_claim_order ON nodes(claim_order) WHERE claim_order IS NOT NULL;
"""


class Database:
    """A SQLite file shared by every thread of the process (each gets its own connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @staticmethod
    def remove_files(path: Path) -> None:
        """Delete a database and its WAL side files (for ``--reset`` before opening)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (WAL, busy timeout) on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so multi-statement reads see one snapshot."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet."""
        self.connection().executescript(SCHEMA)

    def close(self) -> None:
        """Close every connection this object opened (call once, at shutdown)."""
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
