"""The `plume-fleet` command: `plume-fleet discover CRM.csv -o fleets/pilot.csv`
(`plume_provider.discover`), `plume-fleet rollout up --fleet-file fleets/pilot.csv -k 4`
(`plume_provider.rollout`), `plume-fleet reshard` (`plume_provider.reshard`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

USAGE = """usage: plume-fleet <command> [options]

commands:
  discover    look a CRM export up in Plume; write a fleet file and a reconciliation report
              (plume-fleet discover --help)
  rollout     preview, up, refresh or destroy over many stacks (a glob, or a fleet file's
              shards), K at a time, with a live view (plume-fleet rollout --help)
  reshard     move customers whose shard changed, with their nodes, to their new shard's
              stack (pulumi state move; nothing deleted or registered) (plume-fleet reshard --help)
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "discover":
        from plume_provider.discover import main as discover

        return discover(rest)
    if command == "rollout":
        from plume_provider.rollout import main as rollout

        return rollout(rest)
    if command == "reshard":
        from plume_provider.reshard import main as reshard

        return reshard(rest)
    print(f"plume-fleet: unknown command {command!r}\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
