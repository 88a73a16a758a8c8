"""A fleet file reads only what it should: a regular file inside the project once links are
resolved. A committed symlink to a file outside (`/proc/self/environ`, `/etc/shadow`, a secret
of the operator's) is refused unread, so no problem can echo its content; a first line that
is no header is named by position only; a deeply nested document is one problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plume_provider.discover import main as discover
from plume_provider.fleet import FleetConfigError, load_fleet

CANARY = "canary-Fh27Lw"


def problems_of(project: Path, name: str) -> list[str]:
    with pytest.raises(FleetConfigError) as caught:
        load_fleet({"fleetFile": name}, root=project)
    return caught.value.problems


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project" / "fleets").mkdir(parents=True)
    return tmp_path / "project"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "operator-secrets.csv"
    secret.write_text(f"PLUME_CLIENT_SECRET={CANARY},x\n{CANARY},y\n")
    return secret


def test_a_symlink_out_of_the_project_is_refused_unread(project: Path, outside: Path) -> None:
    (project / "fleets" / "pilot.csv").symlink_to(outside)
    (problem,) = problems_of(project, "fleets/pilot.csv")
    assert "outside the project directory" in problem
    assert CANARY not in problem


@pytest.mark.parametrize("name", ["../operator-secrets.csv", "ABSOLUTE"])
def test_a_path_out_of_the_project_is_refused(project: Path, outside: Path, name: str) -> None:
    name = str(outside) if name == "ABSOLUTE" else name
    (problem,) = problems_of(project, name)
    assert "outside the project directory" in problem
    assert CANARY not in problem


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_link_to_the_environment_never_prints_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLUME_CLIENT_SECRET", CANARY)
    (project / "fleets" / "env.csv").symlink_to("/proc/self/environ")
    found = problems_of(project, "fleets/env.csv")
    assert CANARY not in "\n".join(found)
    assert os.environ["PLUME_CLIENT_SECRET"] == CANARY


def test_a_fifo_in_the_project_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "fleets" / "pipe.csv")
    (problem,) = problems_of(project, "fleets/pipe.csv")
    assert "not a regular file" in problem


def test_a_first_line_that_is_no_header_is_not_echoed(project: Path) -> None:
    (project / "fleets" / "pilot.csv").write_text(f"accountId,token={CANARY}\nA-1,x\n")
    found = problems_of(project, "fleets/pilot.csv")
    assert any("column 2 is not a column name" in p for p in found), found
    assert CANARY not in "\n".join(found)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_nesting_is_one_problem_naming_the_file(project: Path, suffix: str) -> None:
    depth = 200_000
    (project / "fleets" / f"deep{suffix}").write_text("[" * depth + "]" * depth)
    (problem,) = problems_of(project, f"fleets/deep{suffix}")
    assert problem.startswith(f"fleets/deep{suffix}: ")
    assert "nest" in problem


def test_discover_refuses_a_crm_link_out_of_its_directory(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm_dir = tmp_path / "exports"
    crm_dir.mkdir()
    (crm_dir / "crm.csv").symlink_to(outside)
    assert (
        discover([str(crm_dir / "crm.csv"), "-o", str(tmp_path / "out.yaml"), "--no-progress"]) != 0
    )
    captured = capsys.readouterr()
    assert "outside the project directory" in captured.err + captured.out
    assert CANARY not in captured.err + captured.out
