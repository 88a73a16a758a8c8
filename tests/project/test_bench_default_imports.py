"""The default benchmark (real CLI) stands on its own: no module of it imports from tests/.

Only `bench/provision_double.py` (the engine double, `--engine double`) does, and
`bench/provision.py` imports it lazily, when asked for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("name", ["provision.py", "cli.py", "baseline.py"])
def test_default_bench_module_imports_nothing_from_tests(name: str) -> None:
    tree = ast.parse((BENCH / name).read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert [m for m in imported if m == "tests" or m.startswith("tests.")] == []


def test_the_engine_double_is_imported_only_on_request() -> None:
    tree = ast.parse((BENCH / "provision.py").read_text())
    top_level = [
        node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
    ]
    assert "bench.provision_double" not in top_level
    assert not any(m.startswith("tests") for m in top_level)
