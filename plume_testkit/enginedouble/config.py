"""The stack's configuration as the engine reads it: the project file, a stack file's
``config:`` map, and the namespaced string values programs and dynamic providers receive."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["load_project", "load_stack_config", "provider_config"]


def load_project(project_dir: Path) -> dict[str, Any]:
    """The project's ``Pulumi.yaml`` as a dict."""
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    return data


def load_stack_config(project_dir: Path, stack_name: str) -> dict[str, Any]:
    """The ``config:`` map of ``Pulumi.<stack>.yaml`` (in ``stackConfigDir`` if the project sets
    one), values as written in YAML (strings, numbers, bools, lists, maps)."""
    project = load_project(project_dir)
    config_dir = project_dir / str(project.get("stackConfigDir") or ".")
    path = config_dir / f"Pulumi.{stack_name}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: config must be a map")
    return dict(config)


def provider_config(stack_config: Mapping[str, object], project: str) -> dict[str, str]:
    """Stack config as the engine hands it to programs and dynamic providers.

    Keys are namespaced (``key`` becomes ``<project>:key``); values are strings, and
    non-string values are JSON (``false``, ``6``, lists and maps), as ``pulumi config`` stores
    them.  Encrypted (``secure:``) values are not supported by the double.
    """
    result: dict[str, str] = {}
    for key, value in stack_config.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            raise ValueError(f"{full_key}: encrypted config is not supported by the engine double")
        result[full_key] = value if isinstance(value, str) else json.dumps(value)
    return result
