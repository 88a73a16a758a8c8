"""A hook for the dynamic-provider host subprocess, loaded only when this directory is on the
host's PYTHONPATH (``ProviderHost(extra_paths=[HOSTHOOKS])``). It changes nothing of the
provider; it only makes logging observable:

``RELIABILITY_HOST_LOG_LEVEL=DEBUG`` sends every log record of the host to stderr, so the
secrets audit reads every line the provider and httpx log, not only the warnings Python's
last-resort handler would print.
"""

from __future__ import annotations

import logging
import os
import sys

_level = os.environ.get("RELIABILITY_HOST_LOG_LEVEL")
if _level:
    logging.basicConfig(
        level=_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
