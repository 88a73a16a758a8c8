"""plume_provider: Plume Cloud fleets as Pulumi resources, in layers.

`plume_provider.client` is the typed HTTP client of the Plume partner API (no Pulumi);
`plume_provider.resources` the Pulumi dynamic providers built on it (no HTTP); `fleet` (the
program's config model and fleet files) and `discover` above them. The client's public names
are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plume_provider import client
from plume_provider.client import *  # noqa: F403  (the client's public names, listed once there)
from plume_provider.client.errors import deprecated_names

__all__ = list(client.__all__)

if not TYPE_CHECKING:
    __getattr__ = deprecated_names(__name__)
