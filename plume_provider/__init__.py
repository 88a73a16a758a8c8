"""plume_provider: Plume Cloud fleets as Pulumi resources, in layers.

`plume_provider.client` is the typed HTTP client of the Plume partner API (no Pulumi);
`plume_provider.resources` the Pulumi dynamic providers built on it (no HTTP); `fleet`,
`fleet_file` and `discover` the fleet config above them. The client's public names are
re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plume_provider.client import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    CheckpointResult,
    ClaimResult,
    ConfigurationError,
    ConflictError,
    Customer,
    CustomerRegistration,
    CustomerSearchResult,
    CustomerUpdate,
    InputValidationError,
    LicenseLimitError,
    Location,
    Node,
    NodeLookup,
    NotFoundError,
    OnboardingCheckpoint,
    PartnerLockedError,
    PermissionDeniedError,
    PlumeClient,
    PlumeError,
    PlumeSettings,
    Profile,
    RateLimitedError,
    SerialNumber,
    ServerError,
    TransportError,
    UnprocessableEntityError,
    validate_serial_number,
)
from plume_provider.client.errors import deprecated_name

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "CheckpointResult",
    "ClaimResult",
    "ConfigurationError",
    "ConflictError",
    "Customer",
    "CustomerRegistration",
    "CustomerSearchResult",
    "CustomerUpdate",
    "InputValidationError",
    "LicenseLimitError",
    "Location",
    "Node",
    "NodeLookup",
    "NotFoundError",
    "OnboardingCheckpoint",
    "PartnerLockedError",
    "PermissionDeniedError",
    "PlumeClient",
    "PlumeError",
    "PlumeSettings",
    "Profile",
    "RateLimitedError",
    "SerialNumber",
    "ServerError",
    "TransportError",
    "UnprocessableEntityError",
    "validate_serial_number",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> tuple[type[ApiError], ...]:
        try:
            return deprecated_name(name)
        except AttributeError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
