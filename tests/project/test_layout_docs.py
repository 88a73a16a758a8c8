"""The tree, the README's "What is where" and docs/architecture.md tell the same story, and
every module opens by saying its one job."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
ARCHITECTURE = (REPO / "docs" / "architecture.md").read_text()
PACKAGES = ("plume_provider", "plume_emulator", "plume_testkit", "bench")


def _what_is_where() -> str:
    section = re.search(r"## What is where\n.*?```\n(.*?)```", README, re.S)
    assert section is not None, "README has no 'What is where' map"
    return section.group(1)


def _first_layout_block() -> str:
    block = re.search(r"```\n(.*?)```", ARCHITECTURE, re.S)
    assert block is not None, "docs/architecture.md has no layout block"
    return block.group(1)


def _parts_of_plume_provider() -> list[str]:
    """Its layers: each subpackage and each module beside them (the package's __init__ aside)."""
    root = REPO / "plume_provider"
    parts = [f"plume_provider/{p.name}/" for p in root.iterdir() if (p / "__init__.py").exists()]
    parts += [f"plume_provider/{p.name}" for p in root.glob("*.py") if p.name != "__init__.py"]
    return sorted(parts)


def test_every_path_in_the_readme_map_exists() -> None:
    for line in _what_is_where().splitlines():
        first = line.split()[0] if line.strip() and not line.startswith(" ") else ""
        for path in filter(None, first.rstrip(",").split(",")):
            assert (REPO / path).exists(), f"README 'What is where' names {path}, which is gone"


@pytest.mark.parametrize("part", _parts_of_plume_provider())
def test_each_layer_of_plume_provider_is_in_both_maps(part: str) -> None:
    assert part in _what_is_where(), f"README 'What is where' does not place {part}"
    assert part in _first_layout_block(), f"docs/architecture.md's layout does not place {part}"


def test_each_top_level_package_is_in_both_maps() -> None:
    for package in ("plume_provider", "plume_emulator", "plume_testkit"):
        assert f"{package}/" in _what_is_where()
        assert f"{package}/" in _first_layout_block()


MODULES = sorted(
    str(path.relative_to(REPO)) for package in PACKAGES for path in (REPO / package).rglob("*.py")
)


@pytest.mark.parametrize("module", [*MODULES, "__main__.py"])
def test_every_module_opens_with_its_job(module: str) -> None:
    doc = ast.get_docstring(ast.parse((REPO / module).read_text()))
    assert doc, f"{module} has no opening docstring"
    assert len(doc.split("\n", 1)[0]) >= 10, f"{module}'s docstring does not say its job"


DOCUMENTS = sorted(
    [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "tools").glob("*/README.md")]
)
_NAMED_PATH = re.compile(
    r"`((?:tests|bench|plume_provider|plume_emulator|plume_testkit|scripts|tools|docs|\.ci)"
    r"/[\w./-]*\w)(?:::(\w+))?"
)


def _named_paths(document: Path) -> list[tuple[str, str | None]]:
    """`path` and `path::name` references to this repository's files in a document."""
    return [(m.group(1), m.group(2)) for m in _NAMED_PATH.finditer(document.read_text())]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_file_a_document_names_exists(document: Path) -> None:
    """A doc that names a file (or a test in it) that is gone sends a reader nowhere."""
    missing = []
    for path, name in _named_paths(document):
        target = REPO / path
        if not target.exists():
            missing.append(path)
        elif name is not None and target.is_file() and name not in target.read_text():
            missing.append(f"{path}::{name}")
    assert missing == [], f"{document.relative_to(REPO)} names what does not exist: {missing}"


_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO)))
def test_every_picture_a_document_shows_exists(document: Path) -> None:
    """A picture link (e.g. the checkpoint figure `bench/provision.py` draws into docs/) that
    points nowhere shows a broken image."""
    missing = [
        link
        for link in _IMAGE.findall(document.read_text())
        if "://" not in link and not (document.parent / link).exists()
    ]
    assert missing == [], (
        f"{document.relative_to(REPO)} shows pictures that do not exist: {missing}"
    )
