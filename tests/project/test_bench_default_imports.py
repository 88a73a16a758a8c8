"""The benchmarks stand on their own: no module of bench/ imports from tests/ (what they share
with the tests is in plume_testkit/), and the provisioning benchmark runs the real CLI only:
the engine double is the tests' fast path, never measured."""

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


def test_the_provisioning_benchmark_never_imports_the_engine_double() -> None:
    imported = _imported(ast.parse((BENCH / "provision.py").read_text()))
    assert not any(m.startswith("plume_testkit.enginedouble") for m in imported)
    assert sorted(p.name for p in BENCH.glob("provision*.py")) == ["provision.py"]
