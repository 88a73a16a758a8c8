"""Entry point of ``python -m plume_emulator``: the command line, or one line naming the extra."""

import sys

from plume_emulator import EXTRA_MODULES, INSTALL_HINT

try:
    from plume_emulator.cli import main
except ModuleNotFoundError as err:
    if (err.name or "").split(".")[0] not in EXTRA_MODULES:
        raise
    print(
        f"plume-emulator: {err.name} is not installed; the emulator needs the emulator extra: "
        f"{INSTALL_HINT}",
        file=sys.stderr,
    )
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(main())
