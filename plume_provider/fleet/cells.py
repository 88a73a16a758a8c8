"""CSV cells that a spreadsheet shows as text: the CSV files plume-fleet writes (fleet files,
discover's report) are opened by operators in spreadsheets, which run a cell starting with `=`,
`+`, `-`, `@`, a tab or a carriage return as a formula (CSV injection: a CRM name such as
`=HYPERLINK(...)` would run on the operator's machine). Such a cell is written behind a `'`,
which spreadsheets read as "text follows"; a fleet file read back drops it again, so every
value survives the round trip (a value that itself starts with `'` gets one more)."""

from __future__ import annotations

__all__ = ["from_spreadsheet_text", "spreadsheet_text"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_MARK = "'"


def spreadsheet_text(value: str) -> str:
    """`value` as a cell no spreadsheet runs as a formula."""
    if value.startswith(_FORMULA_STARTS) or _escaped(value):
        return _TEXT_MARK + value
    return value


def from_spreadsheet_text(cell: str) -> str:
    """The value `spreadsheet_text` wrote as `cell` (a cell it did not escape is itself)."""
    return cell[1:] if _escaped(cell) else cell


def _escaped(cell: str) -> bool:
    return cell.startswith(_TEXT_MARK) and cell[1:].startswith((*_FORMULA_STARTS, _TEXT_MARK))
