"""Each stack's fleet, for tools over many stacks of one project (`rollout`, `reshard`): every
fleet is read and validated once, whole (every shard), and a stack's own shard selects from it.

Many shard stacks share one fleet file; validating a file of 10,000 customers once per stack
took a minute for 200 stacks (docs/performance.md, "Fleets in shards").

A stack's config is read from its stack file (`stackConfigDir`/`Pulumi.<stack>.yaml`), not
through the CLI: one CLI start and state load fewer per stack, only plain values are read, and
nothing is decrypted. Values are handed to `load_fleet` as the program gets them (lists and
booleans as JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from plume_provider.fleet.model import Fleet, FleetConfigError, load_fleet

__all__ = ["FLEET_NAMESPACE", "StackFleets", "fleet_config_of", "stack_file_config"]

FLEET_NAMESPACE = "plume-fleet:"


def _config_dir(project: Path) -> Path:
    settings = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    return project / str(settings.get("stackConfigDir") or ".")


def stack_file_config(project: Path, stack: str, config_dir: Path | None = None) -> dict[str, Any]:
    """The `config` of the stack's file, every namespace (empty when it has none); a secret
    stays the `{secure: ...}` mapping the file holds. `config_dir`: the project's
    `stackConfigDir`, when the caller has read it already."""
    directory = config_dir if config_dir is not None else _config_dir(project)
    path = directory / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"
    if not path.is_file():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = document.get("config") or {}
    return dict(config) if isinstance(config, Mapping) else {}


def fleet_config_of(config: Mapping[str, Any]) -> dict[str, str | None]:
    """The `plume-fleet:*` keys, unprefixed, as `load_fleet` takes them (a secret stays
    unread)."""
    fleet: dict[str, str | None] = {}
    for key, value in config.items():
        if not str(key).startswith(FLEET_NAMESPACE) or isinstance(value, Mapping):
            continue
        fleet[str(key).removeprefix(FLEET_NAMESPACE)] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    return fleet


class StackFleets:
    """The fleets of the stacks of the project at `root`, each distinct config read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._config_dir = _config_dir(root)
        self._configs: dict[str, dict[str, str | None]] = {}
        self._read: dict[tuple[tuple[str, str | None], ...], Fleet | FleetConfigError] = {}

    def config_of(self, stack: str) -> dict[str, str | None]:
        """The stack's `plume-fleet:*` keys (unprefixed), from its stack file, read once; a copy
        the caller may change."""
        if stack not in self._configs:
            self._configs[stack] = fleet_config_of(
                stack_file_config(self.root, stack, self._config_dir)
            )
        return dict(self._configs[stack])

    def of(self, config: Mapping[str, str | None]) -> Fleet:
        """The fleet a stack with these `plume-fleet:*` keys (unprefixed) declares: read with
        every shard (the stack's own may have just lost its last customer), then its `shard`
        selecting. Raises `FleetConfigError` as `load_fleet` does."""
        shared = tuple(sorted((k, v) for k, v in config.items() if k != "shard"))
        if shared not in self._read:
            try:
                self._read[shared] = load_fleet(dict(shared), root=self.root, every_shard=True)
            except FleetConfigError as err:
                self._read[shared] = err
        whole = self._read[shared]
        if isinstance(whole, FleetConfigError):
            raise whole
        return whole.model_copy(update={"shard": config.get("shard") or None})
