"""Each stack's fleet, for tools over many stacks of one project (`rollout`, `reshard`): every
fleet is read and validated once, whole (every shard), and a stack's own shard selects from it.

Many shard stacks share one fleet file; validating a file of 10,000 customers once per stack
took a minute for 200 stacks (docs/performance.md, "Fleets in shards")."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from plume_provider.fleet.model import Fleet, FleetConfigError, load_fleet

__all__ = ["StackFleets"]


class StackFleets:
    """The fleets of the stacks of the project at `root`, each distinct config read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._read: dict[tuple[tuple[str, str | None], ...], Fleet | FleetConfigError] = {}

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
