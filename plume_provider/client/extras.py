"""The optional parts of plume-fleet and how a missing one is named: a feature that needs an
extra checks for it before it does anything, and says in one line what to install."""

from __future__ import annotations

import importlib

__all__ = ["install_command", "missing"]


def install_command(extra: str) -> str:
    """`pip install 'plume-fleet[extra]'`."""
    return f"pip install 'plume-fleet[{extra}]'"


def missing(module: str) -> bool:
    """`module` cannot be imported (its extra is not installed)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return True
    return False
