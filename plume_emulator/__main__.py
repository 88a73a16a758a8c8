"""Entry point of ``python -m plume_emulator``."""

import sys

from plume_emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
