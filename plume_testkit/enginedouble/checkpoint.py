"""The checkpoint: what the engine double saves of a stack between runs (a small JSON file,
like a local backend's), and the dependency order resources are saved and deleted in."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Checkpoint", "ResourceState", "ordered"]


@dataclass
class ResourceState:
    """One resource in the checkpoint (what the engine saves per resource)."""

    urn: str
    type: str
    name: str
    id: str = ""
    custom: bool = True
    parent: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    pending_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        """The checkpoint form (camelCase, like Pulumi's)."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "custom": self.custom,
            "parent": self.parent,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "pendingDelete": self.pending_delete,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceState:
        """Inverse of ``to_json``."""
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data.get("name") or data["urn"].rsplit("::", 1)[-1],
            id=data.get("id") or "",
            custom=bool(data.get("custom", True)),
            parent=data.get("parent") or "",
            inputs=dict(data.get("inputs") or {}),
            outputs=dict(data.get("outputs") or {}),
            dependencies=list(data.get("dependencies") or []),
            property_dependencies={
                k: list(v) for k, v in (data.get("propertyDependencies") or {}).items()
            },
            protect=bool(data.get("protect", False)),
            retain_on_delete=bool(data.get("retainOnDelete", False)),
            pending_delete=bool(data.get("pendingDelete", False)),
        )


@dataclass
class Checkpoint:
    """The saved stack: resources (dependencies before dependents) and stack outputs."""

    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read ``path`` (an empty checkpoint if it does not exist)."""
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        return cls(
            [ResourceState.from_json(r) for r in data.get("resources", [])],
            dict(data.get("outputs") or {}),
        )

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        data = {
            "version": 1,
            "outputs": self.outputs,
            "resources": [r.to_json() for r in self.resources],
        }
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)

    def get(self, urn: str) -> ResourceState | None:
        """The live (not pending-delete) resource ``urn``."""
        for resource in self.resources:
            if resource.urn == urn and not resource.pending_delete:
                return resource
        return None

    def by_type(self, type_: str) -> list[ResourceState]:
        """Live resources of one type."""
        return [r for r in self.resources if r.type == type_ and not r.pending_delete]


def ordered(resources: Iterable[ResourceState]) -> list[ResourceState]:
    """Dependencies (and parents) before dependents, otherwise stable."""
    items = list(resources)
    by_urn: dict[str, list[int]] = {}
    for index, resource in enumerate(items):
        by_urn.setdefault(resource.urn, []).append(index)
    order: list[int] = []
    state: dict[int, int] = {}  # 1 = visiting, 2 = done

    def visit(index: int) -> None:
        if state.get(index):
            return
        state[index] = 1
        resource = items[index]
        for dep in [resource.parent, *resource.dependencies]:
            for dep_index in by_urn.get(dep, []):
                visit(dep_index)
        state[index] = 2
        order.append(index)

    for index in range(len(items)):
        visit(index)
    return [items[i] for i in order]
