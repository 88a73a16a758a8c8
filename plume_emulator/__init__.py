"""A local Plume Cloud: OAuth token server, the partner API, a WAF and test hooks.

It shares no code with ``plume_provider``: the client is tested against this
emulator, so a misunderstanding of the API must not be copied into both.
Public entry points: :func:`create_app`, :class:`EmulatorOptions` and
:mod:`plume_emulator.testing`.
"""

from plume_emulator.app import create_app
from plume_emulator.options import EmulatorOptions, ManualClock

__all__ = ["EmulatorOptions", "ManualClock", "create_app"]
