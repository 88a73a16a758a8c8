"""The lab's seed data (three partners and their node inventory, plus ``--inventory`` files),
and opening a lab database: seeding an empty one, refusing one of another schema version.

Every fresh database gets exactly the same rows (deterministic MACs, part
numbers, firmware ...), inserted in bulk so a fresh emulator starts at once,
and a new token signing key of its own.
"""

from __future__ import annotations

import functools
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plume_emulator import store
from plume_emulator.db import SCHEMA_VERSION, Database

SEED_CREATED_AT = "2024-01-02T03:04:05.000Z"


class PartnerSpec(BaseModel):
    """A partner and its OAuth client credentials."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    locked: bool = False


class NodeSpec(BaseModel):
    """One inventory node; unspecified hardware fields are generated."""

    model_config = ConfigDict(extra="forbid")

    serialNumber: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._:-]+$")
    partnerId: str = Field(min_length=1)
    residentialGateway: bool = False
    packId: str | None = None
    partNumber: str | None = None
    manufacturerFirmware: str | None = None


class InventoryFile(BaseModel):
    """The shape of an ``--inventory`` YAML/JSON file."""

    model_config = ConfigDict(extra="forbid")

    partners: list[PartnerSpec] = []
    nodes: list[NodeSpec] = []


SEED_PARTNERS = (
    PartnerSpec(id="lab-partner", client_id="lab-client", client_secret="lab-secret"),
    PartnerSpec(id="other-partner", client_id="other-client", client_secret="other-secret"),
    PartnerSpec(
        id="locked-partner", client_id="locked-client", client_secret="locked-secret", locked=True
    ),
)


class InventoryFileError(ValueError):
    """The ``--inventory`` file cannot be read or does not have the expected shape."""


def load_inventory(path: Path) -> InventoryFile:
    """Parse a YAML or JSON inventory file (JSON is valid YAML, so one parser serves both)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise InventoryFileError(f"cannot read inventory file {path}: {err}") from err
    try:
        return InventoryFile.model_validate(raw or {})
    except ValidationError as err:
        raise InventoryFileError(f"inventory file {path} is invalid: {err}") from err


@dataclass(frozen=True)
class _Node:
    serial: str
    partner_id: str
    gateway: bool
    pack_id: str | None
    part_number: str | None = None
    firmware: str | None = None


def _builtin_nodes() -> Iterator[_Node]:
    for i in range(1, 501):
        yield _Node(f"LAB-GW-{i:04d}", "lab-partner", True, None)
    for i in range(1, 1501):
        yield _Node(f"LAB-POD-{i:04d}", "lab-partner", False, None)
    for p in range(1, 21):
        for k in range(1, 4):
            yield _Node(f"LAB-PK{p:02d}-{k}", "lab-partner", False, f"LAB-PACK-{p:02d}")
    for i in range(1, 51):
        yield _Node(f"OTH-GW-{i:04d}", "other-partner", True, None)


def _mac(oui: str, n: int) -> str:
    return f"{oui}:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


def _node_row(index: int, node: _Node) -> tuple[object, ...]:
    """A deterministic, unique set of hardware attributes for the index-th node."""
    base = index * 8
    oui = "60:b4:f7" if index < 0x1FFFFF else "f0:6d:78"
    macs = [_mac(oui, base + k) for k in range(4, 8)]
    part = node.part_number or (
        "PP603X" if node.gateway else "PP203X" if node.pack_id else "PP213X"
    )
    firmware = (
        node.firmware
        or f"4.{index % 7}.{index % 13}-{100 + index % 57}-g{index * 2654435761 % 0xFFFFFF:06x}"
    )
    box = f"BX-{node.pack_id}" if node.pack_id else f"BX-{node.serial}"
    return (
        node.serial,
        node.partner_id,
        node.pack_id,
        int(node.gateway),
        _mac(oui, base),
        _mac(oui, base + 1),
        _mac(oui, base + 2),
        _mac(oui, base + 3),
        json.dumps(macs),
        box,
        part,
        firmware,
        f"PO-{2024 + index % 2}-{index // 100 + 1:05d}",
        f"2024-{1 + index % 12:02d}-{1 + index % 28:02d}",
        index + 1,
        "lab",
        f"lab-{1 + index % 4}",
        SEED_CREATED_AT,
        SEED_CREATED_AT,
    )


def prepare(db: Database, inventory: InventoryFile | None) -> None:
    """Create the schema; seed the database when it is empty; refuse another schema version."""
    db.create_schema()
    with db.write() as conn:
        version = store.meta_value(conn, "schema_version")
        if version is None:
            seed(conn, inventory)
            store.set_meta(conn, "schema_version", SCHEMA_VERSION)
            store.set_meta(conn, "token_secret", secrets.token_hex(32))
        elif version != SCHEMA_VERSION:
            raise RuntimeError(
                f"{db.path} has schema version {version}, this emulator needs "
                f"{SCHEMA_VERSION}; start with --reset to recreate it"
            )


def seed(conn: sqlite3.Connection, extra: InventoryFile | None) -> None:
    """Insert the seed partners and inventory (plus ``extra``) into empty tables."""
    partners = list(SEED_PARTNERS) + (list(extra.partners) if extra else [])
    store.insert_partners(
        conn, [(p.id, p.client_id, p.client_secret, int(p.locked)) for p in partners]
    )
    rows = list(_builtin_rows())
    if extra:
        known = {p.id for p in partners}
        for spec in extra.nodes:
            if spec.partnerId not in known:
                raise InventoryFileError(
                    f"inventory node {spec.serialNumber} names unknown partner {spec.partnerId}"
                )
            node = _Node(
                spec.serialNumber,
                spec.partnerId,
                spec.residentialGateway,
                spec.packId,
                spec.partNumber,
                spec.manufacturerFirmware,
            )
            rows.append(_node_row(len(rows), node))
    store.insert_nodes(conn, rows)


@functools.cache
def _builtin_rows() -> tuple[tuple[object, ...], ...]:
    """The seed inventory's rows, computed once per process (tests start many labs)."""
    return tuple(_node_row(i, node) for i, node in enumerate(_builtin_nodes()))
