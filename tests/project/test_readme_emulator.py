"""What the README says about the emulator is what a newcomer gets: its command lines run from
a fresh shell, and its troubleshooting rows quote what the emulator and the client answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer, LabCredentials
from plume_provider.client import PlumeClient, errors
from plume_provider.client.models import CustomerRegistration
from plume_provider.client.settings import PlumeSettings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
MAKEFILE = (REPO / "Makefile").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match is not None, f"README has no section {title!r}"
    return match.group(1)


def test_readme_emulator_commands_use_the_venv_python_or_make() -> None:
    block = re.search(r"```sh\n(.*?)```", section("The emulator"), re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands, "the emulator section shows how to start it"
    venv = re.search(r"^VENV \?= (\S+)$", MAKEFILE, re.M)
    assert venv is not None
    for command in commands:
        if command.startswith("make "):
            target = command.split()[1]
            assert re.search(rf"^{target}:", MAKEFILE, re.M), f"Makefile has no {target} target"
        else:
            # a bare `python` outside the venv has no plume_emulator installed
            assert command.startswith(f"{venv.group(1)}/bin/python -m plume_emulator"), command
    assert any(c.startswith("make emulator") for c in commands)


def troubleshooting_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in section("Troubleshooting").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and not set(cells[0]) <= {"-"} and cells[0] != "error":
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def quoted_fragments(example: str) -> list[str]:
    """The pieces of each backquoted example that must appear verbatim (split at "…")."""
    pieces = []
    for quoted in re.findall(r"`([^`]+)`", example):
        pieces += [piece.strip() for piece in quoted.split("…") if piece.strip()]
    return pieces


@pytest.fixture
def client(lab_credentials: LabCredentials) -> Iterator[PlumeClient]:
    settings = PlumeSettings(
        api_url=lab_credentials.api_url,
        token_url=lab_credentials.token_url,
        auth_header=lab_credentials.auth_header,
        partner_id=lab_credentials.partner_id,
        requests_per_second=0,
    )
    with PlumeClient(settings) as plume:
        yield plume


def row_quoting(message: str) -> tuple[str, str, str]:
    matching = [row for row in troubleshooting_rows() if message in row[1]]
    assert len(matching) == 1, f"one README troubleshooting row quotes {message!r}: {matching}"
    return matching[0]


def assert_row_matches(row: tuple[str, str, str], error: errors.ApiError) -> None:
    heading, example, _ = row
    assert f"`{type(error).__name__}` ({error.status})" in heading, (heading, repr(error))
    for piece in quoted_fragments(example):
        assert piece in str(error), (piece, str(error))


def claim_error(client: PlumeClient, account_id: str, serial: str) -> errors.ApiError:
    """What claiming ``serial`` at a new customer's location raises."""
    customer = client.register_customer(
        CustomerRegistration(account_id=account_id, partner_id="lab-partner")
    )
    assert customer.location_id is not None
    with pytest.raises(errors.ApiError) as caught:
        client.claim_node(customer.id, customer.location_id, serial)
    return caught.value


def test_readme_row_for_another_partners_serial_is_what_a_claim_answers(
    client: PlumeClient, emulator: EmulatorServer
) -> None:
    error = claim_error(client, "README-ROW-1", "OTH-GW-0001")
    assert "OTH-GW-0001" in error.api_message
    assert_row_matches(row_quoting(error.api_message), error)
    assert emulator.state()["partners"]["lab-partner"]["claimed_nodes"] == []


def test_readme_row_for_a_lookup_of_another_partners_serial_is_what_a_lookup_answers(
    client: PlumeClient,
) -> None:
    with pytest.raises(errors.ApiError) as caught:
        client.lookup_node("OTH-GW-0001")
    error = caught.value
    assert_row_matches(row_quoting(error.api_message), error)


def test_readme_row_for_an_unknown_serial_is_what_a_claim_answers(client: PlumeClient) -> None:
    error = claim_error(client, "README-ROW-2", "LAB-POD-9999")
    assert_row_matches(row_quoting(error.api_message), error)
