"""The CSV files plume-fleet writes are safe to open in a spreadsheet: a value that would run as
a formula is written behind `'`, and a fleet file read back gives every value unchanged."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from plume_provider.fleet import load_fleet, write_fleet_file
from plume_provider.fleet.cells import from_spreadsheet_text, spreadsheet_text

FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "'=already", "''"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_cell_is_written_as_text_and_read_back_unchanged(value: str) -> None:
    cell = spreadsheet_text(value)
    assert cell.startswith("'")
    assert from_spreadsheet_text(cell) == value


@pytest.mark.parametrize("value", ["Ada", "ada@example.org", "A-1", "'quoted'", ""])
def test_a_plain_cell_is_written_as_it_is(value: str) -> None:
    assert spreadsheet_text(value) == value
    assert from_spreadsheet_text(value) == value


def test_a_written_fleet_csv_holds_no_formula_and_loads_the_same_fleet(tmp_path: Path) -> None:
    customers = [
        {
            "accountId": "-1001",
            "name": "=HYPERLINK(A1)+cmd|' /C calc'!A0",
            "nodes": [{"serialNumber": "LAB-GW-0001", "nickname": "@home"}],
        }
    ]
    path = tmp_path / "fleets" / "out.csv"
    write_fleet_file(path, customers)
    with path.open(newline="") as written:
        cells = [cell for row in list(csv.reader(written))[1:] for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells), cells

    fleet = load_fleet({"fleetFile": "fleets/out.csv"}, root=tmp_path)
    (customer,) = fleet.customers
    assert customer.account_id == "-1001"
    assert customer.name == customers[0]["name"]
    assert customer.nodes[0].nickname == "@home"
