"""The secrets a lab keeps in its database: partners' OAuth client secrets, the token signing key.

Both live with the data, so a restarted emulator accepts the same clients and
the tokens it issued before. Each call blocks on SQLite: routes run it in a
worker thread.
"""

from __future__ import annotations

import secrets

from plume_emulator import store
from plume_emulator.db import Database


def authenticate_client(db: Database, client_id: str, client_secret: str) -> str | None:
    """The partner id of a client whose secret matches, else None."""
    with db.read() as conn:
        row = store.partner_of_client(conn, client_id)
    if row is None or not secrets.compare_digest(
        row["client_secret"].encode(), client_secret.encode()
    ):
        return None
    return str(row["id"])


def token_secret(db: Database) -> bytes:
    """The HMAC key of this lab's tokens (created when the database was seeded)."""
    with db.read() as conn:
        value = store.meta_value(conn, "token_secret")
    if value is None:
        raise RuntimeError(f"{db.path} holds no token signing key; start with --reset")
    return bytes.fromhex(value)
