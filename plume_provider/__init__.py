"""plume_provider: a typed client for the Plume Cloud partner API (and, in `resources`, the
Pulumi dynamic resources built on it).

Public names are re-exported here.
"""

from __future__ import annotations

from plume_provider.client import PlumeClient
from plume_provider.client.errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InputValidationError,
    LicenseLimitError,
    NotFoundError,
    PartnerLockedError,
    PermissionDeniedError,
    PlumeError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from plume_provider.client.models import (
    CheckpointResult,
    ClaimResult,
    Customer,
    CustomerRegistration,
    CustomerSearchResult,
    CustomerUpdate,
    Location,
    Node,
    NodeLookup,
    OnboardingCheckpoint,
    Profile,
    SerialNumber,
    validate_serial_number,
)
from plume_provider.client.settings import PlumeSettings

__all__ = [
    "ApiError",
    "AuthenticationError",
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
    "ValidationError",
    "validate_serial_number",
]
