"""Discover's journal answers only for what it was made for: another partner, cloud or CRM file is
refused in one line before any call; a line that is not a journaled answer of the right shape is
one error naming the file and line; a last line cut by a kill is made again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plume_emulator.testing import EmulatorServer
from plume_provider.discover import main
from tests.discover.conftest import CRM, api_calls


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], crm: str = "crm.csv"
) -> tuple[int, str]:
    code = main([str(tmp_path / crm), "-o", str(tmp_path / "fleet.csv"), "--no-progress"])
    return code, capsys.readouterr().err


@pytest.fixture
def journal(plume_env: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The journal of one whole run; the emulator's counts reset after it."""
    (tmp_path / "crm.csv").write_text(CRM)
    assert run(tmp_path, capsys)[0] == 0
    plume_env.reset_stats()
    return tmp_path / "fleet.csv.journal.jsonl"


def test_a_journal_made_for_another_partner_is_refused_before_any_call(
    journal: Path,
    plume_env: EmulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLUME_PARTNER_ID", "other-partner")
    code, err = run(tmp_path, capsys)
    assert code == 2
    [line] = err.splitlines()
    assert f"journal {journal}: made for partner " in line
    assert "not 'other-partner'" in line
    assert "delete it" in line
    assert line.endswith("nothing was called")
    assert api_calls(plume_env) == {}


def test_a_journal_made_for_another_crm_file_is_refused(
    journal: Path, plume_env: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "other.csv").write_text(CRM)
    code = main([str(tmp_path / "other.csv"), "-o", str(tmp_path / "fleet.csv"), "--no-progress"])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert f"CRM file '{tmp_path / 'crm.csv'}', not '{tmp_path / 'other.csv'}'" in line
    assert api_calls(plume_env) == {}


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        ("[]", "not a journaled answer"),
        ("{}", "not a journaled answer"),
        ("null", "not a journaled answer"),
        ("not json at all", "not a journaled answer"),
        ('{"call": "search", "key": "OLD-1", "answer": {"id": 7}}', "the wrong shape"),
        ('{"call": "nodes", "key": "c/l", "answer": {"serialNumber": "X"}}', "the wrong shape"),
        ('{"call": "lookup", "key": "X", "answer": "yes"}', "the wrong shape"),
        ('{"call": "delete", "key": "X", "answer": null}', "unknown call 'delete'"),
    ],
)
def test_a_malformed_journal_line_is_one_error_naming_file_and_line(
    journal: Path,
    plume_env: EmulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad: str,
    what: str,
) -> None:
    lines = journal.read_text().splitlines()
    lines.insert(3, bad)
    journal.write_text("\n".join(lines) + "\n")
    code, err = run(tmp_path, capsys)
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith(f"plume-fleet discover: journal {journal}:4: ")
    assert what in line
    assert "Traceback" not in err
    assert api_calls(plume_env) == {}


def test_a_last_line_cut_by_a_kill_is_made_again(
    journal: Path, plume_env: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = journal.read_text()
    last = text.splitlines()[-1]
    journal.write_text(text[: len(text) - len(last) - 1] + last[:10])  # cut mid-line
    code = main([str(tmp_path / "crm.csv"), "-o", str(tmp_path / "fleet.csv"), "--no-progress"])
    assert code == 0
    assert sum(api_calls(plume_env).values()) == 1
    assert json.loads(journal.read_text().splitlines()[-1]) == json.loads(last)
    assert "1 made, 7 from the journal" in capsys.readouterr().out


def test_a_journal_without_its_binding_is_refused(
    journal: Path, plume_env: EmulatorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A journal of the earlier format (no first line binding it) could be any partner's."""
    journal.write_text("\n".join(journal.read_text().splitlines()[1:]) + "\n")
    code, err = run(tmp_path, capsys)
    assert code == 2
    assert f"journal {journal}:1: not a journal of this plume-fleet version" in err
    assert api_calls(plume_env) == {}
