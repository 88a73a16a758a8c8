"""SQLite storage: the schema, a pool of connections shared by threads, one transaction per call.

Routes run backend calls in worker threads, so a connection is borrowed for
one transaction and handed back, whichever thread asks (connections are opened
with ``check_same_thread=False``). Write transactions are serialised by a lock
of the process, then by ``BEGIN IMMEDIATE`` (which also guards against another
process on the same file): two requests racing for the same serial run one after
the other, and the loser sees the winner's claim. WAL mode lets readers proceed
while a writer holds the lock.
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
    """A SQLite file shared by every thread of the process, through a pool of connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False

    @staticmethod
    def remove_files(path: Path) -> None:
        """Delete a database and its WAL side files (for ``--reset`` before opening)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        """An idle connection (or a new one), back in the pool afterwards unless a transaction
        was left open on it (a failed COMMIT): closing it then rolls that back."""
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            with self._pool_lock:
                keep = not self._closed and not conn.in_transaction
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        with self._write_lock, self._borrow() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction, so multi-statement reads see one snapshot."""
        with self._borrow() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet."""
        with self._write_lock, self._borrow() as conn:
            conn.executescript(SCHEMA)

    def close(self) -> None:
        """Close every idle connection, and each busy one when it is handed back (at shutdown)."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
