"""Errors the emulator answers with, and the two JSON bodies they render to.

Tree::

    EmulatorError (status, name, message, headers)   -> {"error": {"statusCode", "name", "message"}}
    OAuthError (status, error, description)          -> {"error": "...", "error_description": "..."}

The backend raises these; the app's exception handlers and the gateway render
them. Messages name the object (serial, customer id, accountId, partner).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

NAMES: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def default_name(status: int) -> str:
    """The error name used when a caller gives none (e.g. injected faults)."""
    return NAMES.get(status, "Error")


class EmulatorError(Exception):
    """An API error: HTTP status, a Plume-style error name and a message naming the object."""

    def __init__(
        self,
        status: int,
        message: str,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.name = name or default_name(status)
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        """The Plume error body."""
        return error_body(self.status, self.name, self.message)


class OAuthError(Exception):
    """A token endpoint error, rendered the way Okta does."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        """The Okta error body."""
        return {"error": self.error, "error_description": self.description}


def error_body(status: int, name: str, message: str) -> dict[str, object]:
    """``{"error": {"statusCode": N, "name": ..., "message": ...}}``."""
    return {"error": {"statusCode": status, "name": name, "message": message}}


def error_bytes(status: int, name: str, message: str) -> bytes:
    """The Plume error body, encoded (for the raw ASGI layer)."""
    return json.dumps(error_body(status, name, message), separators=(",", ":")).encode()


def unauthorized(message: str) -> EmulatorError:
    return EmulatorError(401, message, "AuthorizationRequired")


def not_found(message: str) -> EmulatorError:
    return EmulatorError(404, message, "NotFound")


def conflict(message: str) -> EmulatorError:
    return EmulatorError(409, message, "Conflict")


def invalid(message: str) -> EmulatorError:
    return EmulatorError(422, message, "ValidationError")


def bad_request(message: str, name: str = "BadRequest") -> EmulatorError:
    return EmulatorError(400, message, name)


def forbidden(message: str, name: str = "Forbidden") -> EmulatorError:
    return EmulatorError(403, message, name)
