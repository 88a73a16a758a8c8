"""The resources layer speaks to Plume only through the client: no HTTP library of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import plume_provider.resources

RESOURCES = Path(plume_provider.resources.__file__).parent


def _imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return modules


def test_no_resources_module_imports_an_http_library() -> None:
    sources = sorted(RESOURCES.glob("*.py"))
    assert len(sources) >= 5
    offenders = {
        source.name: sorted(found)
        for source in sources
        if (found := {m for m in _imported_modules(source) if m.split(".")[0] in {"httpx", "h11"}})
    }
    assert offenders == {}
