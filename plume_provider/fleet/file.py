"""Fleet files: a stack's customers kept in the repository (`plume-fleet:fleetFile`), as a CSV
shaped like a CRM export, or as YAML / JSON in the shape of `plume-fleet:customers`.

CSV: one row per node, the customer's columns repeated (or left blank) on each of its rows; a
customer without nodes is one row with no `serialNumber`. Header names are case-insensitive and
ignore spaces, `_` and `-` (`Account ID`, `account_id` and `ACCOUNTID` are `accountId`);
`Customer Name`, `E-mail address` and `Serial` are accepted for `name`, `email`, `serialNumber`:

The customer columns are the fleet keys of the customer field table
(`client.customer_fields`), then `protect`, `wave` and `shard`; the node columns follow:

| column | meaning |
|---|---|
| `accountId` | required on every row: the rows of one accountId are one customer |
| `name`, `email`, `profile`, `acceptLanguage` | the customer's fields (as in stack config) |
| `onboardingCheckpoint`, `importId` | the same |
| `adopt`, `protect` | `true` / `false` (also `yes` / `no`, `1` / `0`); blank = not set |
| `wave` | rollout wave, a whole number ≥ 1; blank = wave 1 |
| `shard` | the shard whose stack declares the customer (`fleet.shards`); blank = none |
| `serialNumber`, `nickname` | one node of the customer; blank serial = no node on this row |

An empty cell means "not set". A customer field given on two rows of the same accountId must
have the same value. Every cell is reported by `file:row:column` (row 1 is the header).

YAML / JSON: a list of customers, or `{customers: [...]}`, exactly as in stack config; problems
are reported as `file:customers[3].email`.

`parse_fleet_file` only reads: it returns the raw customers (as `CustomerSpec` takes them) and a
`Locator` that turns a validation location into the text an operator looks up in the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plume_provider.client.customer_fields import CUSTOMER_FIELDS
from plume_provider.client.node_fields import NODE_FIELDS
from plume_provider.fleet.cells import from_spreadsheet_text, spreadsheet_text

__all__ = [
    "CSV_COLUMNS",
    "CUSTOMER_COLUMNS",
    "NODE_COLUMNS",
    "FileLocator",
    "ParsedFleetFile",
    "parse_fleet_file",
    "write_fleet_file",
]

_KEY = CUSTOMER_FIELDS.account_id.prop
"""The column whose rows are one customer (the first)."""
CUSTOMER_COLUMNS = (
    *(item.prop for item in CUSTOMER_FIELDS.fleet),
    "protect",
    "wave",
    "shard",
)
"""The customer field table's fleet keys, then what only a fleet says."""
NODE_COLUMNS = tuple(f.api for f in NODE_FIELDS.fleet)
CSV_COLUMNS = CUSTOMER_COLUMNS + NODE_COLUMNS
_BOOLEAN_COLUMNS = frozenset(
    {*(item.prop for item in CUSTOMER_FIELDS.fleet if item.python_type == "bool"), "protect"}
)
_CONVERTED = _BOOLEAN_COLUMNS | {"wave"}
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
_SYNONYMS = {
    **{
        re.sub(r"[^a-z0-9]", "", header.lower()): item.prop
        for item in CUSTOMER_FIELDS.fleet
        for header in item.headers
    },
    "serial": "serialNumber",
}
_NORMALIZED = {
    **{re.sub(r"[^a-z0-9]", "", name.lower()): name for name in CSV_COLUMNS},
    **_SYNONYMS,
}
_INTEGER = re.compile(r"[0-9]{1,9}")
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster


def _normalize_header(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclass
class FileLocator:
    """Where each raw customer of a fleet file came from, to name problems in the file's terms."""

    file: str
    csv: bool
    headers: dict[str, str] = field(default_factory=dict)
    """canonical column -> the header as written in the file (CSV)"""
    customer_rows: list[int] = field(default_factory=list)
    """per customer: the row of its first line (CSV)"""
    node_rows: list[list[int]] = field(default_factory=list)
    """per customer, per node: its row (CSV)"""
    field_rows: list[dict[str, int]] = field(default_factory=list)
    """per customer: the row each customer field was read from (CSV)"""

    def where(self, index: int, loc: Sequence[int | str]) -> str:
        """`loc` is inside customer `index` of this file (`("nodes", 0, "nickname")`)."""
        if not self.csv:
            path = f"customers[{index}]"
            for part in loc:
                path += f"[{part}]" if isinstance(part, int) else f".{part}"
            return f"{self.file}:{path}"
        parts = list(loc)
        if len(parts) >= 2 and parts[0] == "nodes" and isinstance(parts[1], int):
            rows = self.node_rows[index]
            row = rows[parts[1]] if parts[1] < len(rows) else self.customer_rows[index]
            column = str(parts[2]) if len(parts) > 2 else "serialNumber"
            return f"{self.file}:{row}:{self.headers.get(column, column)}"
        if parts and isinstance(parts[0], str):
            column = parts[0]
            row = self.field_rows[index].get(column, self.customer_rows[index])
            return f"{self.file}:{row}:{self.headers.get(column, column)}"
        return f"{self.file}:{self.customer_rows[index]}"


@dataclass
class ParsedFleetFile:
    """The raw customers of a fleet file, the problems only the file's shape can show (an
    unknown column, conflicting values on two rows), and where each customer came from."""

    customers: list[dict[str, Any]]
    problems: list[str]
    locator: FileLocator


def _cell(column: str, text: str) -> Any:
    value = text.strip()
    if column in _BOOLEAN_COLUMNS:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return value  # the model reports "Input should be a valid boolean"
    if column == "wave" and _INTEGER.fullmatch(value):
        return int(value)
    return value


_PLAUSIBLE_HEADER = re.compile(r"[\w ().#/-]{1,64}")
"""What a CSV header cell can look like; anything else is named by its position only, so a file
that is not a fleet file never has its first line echoed."""


def _parse_csv(text: str, name: str, close: Any) -> ParsedFleetFile:
    locator = FileLocator(name, csv=True)
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return ParsedFleetFile([], [f"{name}:1: the file is empty; expected a header row"], locator)
    columns: list[str | None] = []
    for raw_header in header:
        canonical = _NORMALIZED.get(_normalize_header(raw_header))
        if canonical is None:
            if not _PLAUSIBLE_HEADER.fullmatch(raw_header.strip() or "-"):
                problems.append(
                    f"{name}:1: column {len(columns) + 1} is not a column name (is this a fleet "
                    f"file? its first line must be the header); the columns are "
                    f"{', '.join(CSV_COLUMNS)}"
                )
            elif raw_header.strip():
                problems.append(
                    f"{name}:1:{raw_header}: {close(raw_header.strip(), CSV_COLUMNS, 'column')}"
                )
            columns.append(None)
            continue
        if canonical in locator.headers:
            problems.append(
                f"{name}:1:{raw_header}: column {canonical} appears twice (also column "
                f"{columns.index(canonical) + 1})"
            )
            columns.append(None)
            continue
        locator.headers[canonical] = raw_header
        columns.append(canonical)
    if _KEY not in locator.headers:
        problems.append(f"{name}:1: no {_KEY} column; the columns are {', '.join(CSV_COLUMNS)}")
        return ParsedFleetFile([], problems, locator)
    customers: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    account_header = locator.headers[_KEY]
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            problems.append(
                f"{name}:{row_number}: {len(row)} cells, the header has {len(columns)} columns"
            )
        values: dict[str, Any] = {}
        for position, column in enumerate(columns[: len(row)]):
            if column is None:
                continue
            cell = from_spreadsheet_text(row[position].strip())
            if cell:
                values[column] = _cell(column, cell) if column in _CONVERTED else cell
        account = values.get(_KEY)
        if not isinstance(account, str):
            problems.append(f"{name}:{row_number}:{account_header}: {_KEY} is empty")
            continue
        index = index_of.get(account)
        if index is None:
            index = index_of[account] = len(customers)
            customers.append({_KEY: account})
            locator.customer_rows.append(row_number)
            locator.node_rows.append([])
            locator.field_rows.append({_KEY: row_number})
        customer = customers[index]
        seen_at = locator.field_rows[index]
        for column in CUSTOMER_COLUMNS[1:]:
            if column not in values:
                continue
            if column in customer and customer[column] != values[column]:
                at = f"{name}:{row_number}:{locator.headers[column]}"
                first = (customer[column], seen_at[column])
                problems.append(_conflict(at, account, column, values[column], first))
                continue
            if column not in customer:
                customer[column] = values[column]
                seen_at[column] = row_number
        if "serialNumber" in values:
            node = {"serialNumber": values["serialNumber"]}
            if "nickname" in values:
                node["nickname"] = values["nickname"]
            customer.setdefault("nodes", []).append(node)
            locator.node_rows[index].append(row_number)
        elif "nickname" in values:
            problems.append(
                f"{name}:{row_number}:{locator.headers['nickname']}: a nickname without a "
                "serialNumber on the same row"
            )
    return ParsedFleetFile(customers, problems, locator)


def _conflict(at: str, account: str, column: str, value: Any, first: tuple[Any, int]) -> str:
    """Two rows of `account` give `column` two values: `first` (value, row) and `value` at the
    cell `at`."""
    if column == "shard":
        return (
            f"{at}: {_KEY} {account!r} is in shard {value!r} on this row and in shard "
            f"{first[0]!r} on row {first[1]}; a customer belongs to one shard: keep one of the two"
        )
    return (
        f"{at}: {value!r} differs from {first[0]!r} on row {first[1]} of the same {_KEY} "
        f"{account!r}; give a customer's value once, or the same on every row"
    )


def _outside_or_irregular(root: Path, name: str) -> str | None:
    """Why `name` is not a fleet file of the project `root`, or None when it is one (or is
    missing, which reading reports)."""
    project = root.resolve()
    try:
        target = (root / name).resolve(strict=True)
    except FileNotFoundError:
        return None
    except (OSError, RuntimeError):  # a link loop
        return "cannot be resolved (a symbolic link loop?); name a regular file in the project"
    if not target.is_relative_to(project) or target.is_relative_to("/proc"):
        return (
            "resolves to a file outside the project directory; a fleet file must be a regular "
            "file inside the project (copy it in instead of linking to it)"
        )
    if not stat.S_ISREG(target.stat().st_mode):
        return "is not a regular file (a directory, device or FIFO); name a CSV, YAML or JSON file"
    return None


def _parse_document(text: str, name: str, suffix: str) -> ParsedFleetFile:
    locator = FileLocator(name, csv=False)
    try:
        document = json.loads(text) if suffix == ".json" else yaml.load(text, Loader=_YamlLoader)
    except RecursionError:
        return ParsedFleetFile(
            [], [f"{name}: nested too deeply to be a fleet file (lists or mappings)"], locator
        )
    except (ValueError, yaml.YAMLError) as err:
        return ParsedFleetFile([], [f"{name}: not valid {suffix[1:].upper()}: {err}"], locator)
    if isinstance(document, Mapping) and set(document) <= {"customers"}:
        document = document.get("customers") or []
    if document is None:
        document = []
    if not isinstance(document, list):
        return ParsedFleetFile(
            [], [f"{name}: expected a list of customers, or a mapping with key customers"], locator
        )
    return ParsedFleetFile(list(document), [], locator)


def parse_fleet_file(root: Path, name: str, close: Any) -> ParsedFleetFile:
    """Read the fleet file `name` (the path as configured, how problems refer to it) of the
    project directory `root`; `close` words an unknown column (`fleet.model._unknown_key`).

    A fleet file is a regular file inside `root` once every link is resolved: a path or link
    out of the project (a committed symlink to `/proc/self/environ` or `/etc/shadow`), a device,
    a FIFO or a `/proc` file is refused unread, so no error can echo what it holds."""
    suffix = Path(name).suffix.lower()
    locator = FileLocator(name, csv=False)
    if suffix not in (".csv", ".yaml", ".yml", ".json"):
        return ParsedFleetFile(
            [], [f"{name}: unknown fleet file type {suffix!r}; use .csv, .yaml or .json"], locator
        )
    refused = _outside_or_irregular(root, name)
    if refused is not None:
        return ParsedFleetFile([], [f"{name}: {refused}"], locator)
    try:
        text = (root / name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return ParsedFleetFile([], [f"{name}: no such file (relative to the project)"], locator)
    except UnicodeDecodeError:
        return ParsedFleetFile([], [f"{name}: cannot be read: not UTF-8 text"], locator)
    except OSError as err:
        return ParsedFleetFile([], [f"{name}: cannot be read: {err.strerror}"], locator)
    if suffix == ".csv":
        return _parse_csv(text, name, close)
    return _parse_document(text, name, suffix)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_text(str(value))


def write_fleet_file(path: Path, customers: Iterable[Mapping[str, Any]]) -> None:
    """Write customers (camelCase mappings, as in stack config) as a fleet file; the format is
    the file's extension. CSV: one row per node, the customer's fields on its first row."""
    rows = list(customers)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(json.dumps({"customers": rows}, indent=2, ensure_ascii=False) + "\n")
        return
    if suffix in (".yaml", ".yml"):
        path.write_text(
            yaml.safe_dump({"customers": rows}, sort_keys=False, allow_unicode=True, width=1000)
        )
        return
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for customer in rows:
            fields = [_text(customer.get(column)) for column in CUSTOMER_COLUMNS]
            nodes = list(customer.get("nodes") or []) or [{}]
            for number, node in enumerate(nodes):
                cells = fields if number == 0 else [fields[0]] + [""] * (len(fields) - 1)
                writer.writerow(
                    [*cells, _text(node.get("serialNumber")), _text(node.get("nickname"))]
                )
