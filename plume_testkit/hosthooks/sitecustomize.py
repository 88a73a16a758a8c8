"""A hook for the dynamic-provider host subprocess, loaded only when this directory is on the
host's PYTHONPATH (``ProviderHost(extra_paths=[HOSTHOOKS])``). It changes nothing of the
provider; it only observes:

``RELIABILITY_HOST_LOG_LEVEL=DEBUG`` sends every log record of the host to stderr, so the
secrets audit reads every line the provider and httpx log, not only the warnings Python's
last-resort handler would print.

``RELIABILITY_HOST_TIMINGS=<file>`` times every ``create``/``delete`` of the two providers
inside the host (what the provider itself spends per operation, API call included).
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

_timings = os.environ.get("RELIABILITY_HOST_TIMINGS")
if _timings:
    # ``RELIABILITY_HOST_TIMINGS=<file>`` appends "<Class>.<method> <seconds>" for every
    # create/delete the providers run in this host (the benchmark's "provider's own" time).
    import functools
    import threading
    import time
    from typing import Any

    from plume_provider.resources.customer import CustomerProvider
    from plume_provider.resources.node import NodeProvider

    _lock = threading.Lock()
    _out = open(_timings, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the host

    def _timed(cls: type, name: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                with _lock:
                    _out.write(f"{cls.__name__}.{name} {elapsed:.6f}\n")
                    _out.flush()

        setattr(cls, name, timed)

    for _cls in (CustomerProvider, NodeProvider):
        for _name in ("create", "delete"):
            _timed(_cls, _name)
