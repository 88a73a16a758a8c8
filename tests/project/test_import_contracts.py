"""The layer contracts `make lint` enforces (pyproject `[tool.importlinter]`): kept by the tree,
and each one broken on purpose in a copy of it is caught, naming the contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    contract["id"]: contract["name"]
    for contract in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}

# contract id -> (module of the copy, the import that breaks the contract)
VIOLATIONS = {
    "provider-layers": ("plume_provider/client/models.py", "import plume_provider.resources"),
    "client-no-pulumi": ("plume_provider/client/_client.py", "import pulumi"),
    "resources-no-http": ("plume_provider/resources/node.py", "import httpx"),
    "emulator-apart": ("plume_emulator/store.py", "import plume_provider.client.models"),
    "product-not-dev": ("plume_provider/client/_auth.py", "import plume_testkit.ports"),
    "bench-not-tests": ("plume_testkit/ports.py", "import tests.conftest"),
}


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    selected = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *selected],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


def test_every_contract_has_a_violation_case() -> None:
    assert set(VIOLATIONS) == set(CONTRACTS)


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_an_import_across_a_contract_fails_lint_naming_it(contract: str, tmp_path: Path) -> None:
    for name in ("plume_provider", "plume_emulator", "plume_testkit", "bench", "tests"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    module, line = VIOLATIONS[contract]
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # the violation under test\n")

    result = lint_imports(tmp_path, contract)

    assert result.returncode == 1, result.stdout + result.stderr
    report = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    assert f"{CONTRACTS[contract]} BROKEN" in report
    assert "1 broken" in report
    assert module.removesuffix(".py").replace("/", ".") in report
