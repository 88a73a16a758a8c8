"""A local Plume Cloud: OAuth token server, the partner API, a WAF and test hooks.

It shares no code with ``plume_provider``: the client is tested against this
emulator, so a misunderstanding of the API must not be copied into both.
Public entry points: :func:`create_app`, :class:`EmulatorOptions` and
:mod:`plume_emulator.testing`.

The server needs FastAPI and uvicorn, the ``emulator`` extra of plume-fleet
(:data:`INSTALL_HINT`). :func:`create_app` is imported on first use, so that
``python -m plume_emulator`` can say so in one line when they are missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plume_emulator.options import EmulatorOptions, ManualClock

if TYPE_CHECKING:
    from plume_emulator.app import create_app

__all__ = ["EXTRA_MODULES", "INSTALL_HINT", "EmulatorOptions", "ManualClock", "create_app"]

INSTALL_HINT = "pip install 'plume-fleet[emulator]'"
"""How to install what the emulator's server needs."""

EXTRA_MODULES = frozenset({"fastapi", "starlette", "uvicorn"})
"""Top-level modules that come with the ``emulator`` extra."""


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from plume_emulator.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
