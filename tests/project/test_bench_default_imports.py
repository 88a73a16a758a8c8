"""The benchmarks stand on their own: no module of bench/ imports from tests/ (what they share
with the tests is in plume_testkit/), and the default benchmark (real CLI) loads the engine
double only when asked for it (`--engine double`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _imported(tree: ast.AST) -> list[str]:
    return [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda path: path.name)
def test_bench_module_imports_nothing_from_tests(path: Path) -> None:
    imported = _imported(ast.parse(path.read_text()))
    assert [m for m in imported if m == "tests" or m.startswith("tests.")] == []


def test_the_engine_double_is_imported_only_on_request() -> None:
    tree = ast.parse((BENCH / "provision.py").read_text())
    top_level = [
        node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert "bench.provision_double" not in top_level
    assert not any(m.startswith("plume_testkit.enginedouble") for m in top_level)
