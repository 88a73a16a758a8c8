"""The Plume Cloud partner API client: its public names, re-exported from the modules below.

Public modules: `errors` (the exception tree), `operations` (`Operation`, `OperationContext`),
`hints` (the next step each failure names), `models` (requests and answers), `settings`
(`PlumeSettings`), `identifiers` (path-segment rules the resources check with). The modules
whose names start with `_` (the HTTP client, OAuth, retry loop, the mapping of answers to
errors, rate budgets, redaction) are its inside: nothing outside this package imports them but
the tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plume_provider.client._client import PlumeClient
from plume_provider.client._ratelimit import granted_requests
from plume_provider.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InputValidationError,
    LicenseLimitError,
    NotFoundError,
    PartnerLockedError,
    PermissionDeniedError,
    PlumeError,
    RateBudgetUnavailableError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
    deprecated_names,
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
    "RateBudgetUnavailableError",
    "RateLimitedError",
    "SerialNumber",
    "ServerError",
    "TransportError",
    "UnprocessableEntityError",
    "granted_requests",
    "validate_serial_number",
]

if not TYPE_CHECKING:
    __getattr__ = deprecated_names(__name__)
