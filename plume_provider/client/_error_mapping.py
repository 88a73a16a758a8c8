"""The one place that turns a failed answer, or no answer, into a `PlumeError`.

`make_error` maps a non-success response (the API's or the OAuth token endpoint's) to its
`ApiError` subclass, one class per status; `make_transport_error` wraps an httpx transport
failure. Nothing else inspects an error status. Plume's own message goes through `redact`,
and paths are reported without their query string, so no credential reaches a message. The
hints come from `hints.py`; what is read here is which one applies (a claim's 422 is told
apart by Plume's English message, the only place that reads it).
"""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from plume_provider.client._redaction import redact
from plume_provider.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LicenseLimitError,
    NotFoundError,
    PartnerLockedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
)
from plume_provider.client.hints import (
    CLAIM_LOCATION_GONE_HINT,
    CLAIM_REJECTED_HINTS,
    CONNECT_HINT,
    CREDENTIALS_HINT,
    DROPPED_HINT,
    SERVER_HINT,
    STATIC_TOKEN_HINT,
    TIMEOUT_HINT,
    TOKEN_ENDPOINT_FAILED_HINT,
    TOKEN_ENDPOINT_TIMEOUT_HINT,
    TOKEN_ENDPOINT_UNREACHABLE_HINT,
    TOKEN_URL_HINT,
    WAF_HINT,
    ClaimRejection,
    fill,
    template_for,
    unexpected_status_hint,
)
from plume_provider.client.operations import Operation, OperationContext

__all__ = [
    "is_rate_limited",
    "make_error",
    "make_transport_error",
    "parse_retry_after",
    "token_url_of",
]

WAF_BLOCK_NAME = "RequestBlocked"
_MAX_BODY_IN_MESSAGE = 300

_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitedError,
}


def _parse_body(response: httpx.Response) -> tuple[str, str, bool]:
    """Return (error name, message, is_json) from a Plume or Okta error body."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return "", text[:_MAX_BODY_IN_MESSAGE], False
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("name") or ""), str(error.get("message") or ""), True
        if isinstance(error, str):
            description = body.get("error_description")
            message = f"{error}: {description}" if description else error
            return error, message, True
        if "message" in body:
            return str(body.get("name") or ""), str(body["message"]), True
    return "", "", body is not None


def parse_retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def is_rate_limited(response: httpx.Response, name: str = "", is_json: bool = True) -> bool:
    """True for a 429, or a 403 from the WAF (`RequestBlocked`, `Retry-After`, non-JSON body)."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    return name == WAF_BLOCK_NAME or "retry-after" in response.headers or not is_json


def token_url_of(request: httpx.Request) -> str:
    """The token endpoint's URL as messages show it (no query string, no credentials)."""
    return str(request.url.copy_with(query=None, fragment=None, username=None, password=None))


def _token_error(
    response: httpx.Response,
    context: OperationContext,
    parsed: tuple[str, str, bool],
    waited_seconds: float | None,
) -> ApiError:
    """A failure answered by the OAuth token endpoint (the API call itself was never sent).

    Rejected credentials, a wrong token URL, rate limiting and the endpoint's own failures are
    told apart: each has its own next step, and only the first is about PLUME_AUTH_HEADER.
    """
    name, message, is_json = parsed
    status = response.status_code
    url = token_url_of(response.request)
    where = f"{context.subject} failed: token endpoint {url}"
    common: dict[str, Any] = {
        "status": status,
        "method": response.request.method,
        "path": response.request.url.path,
        "api_message": redact(message),
        "operation": Operation.FETCH_TOKEN,
    }
    if is_rate_limited(response, name, is_json):
        waited = waited_seconds or 0.0
        return RateLimitedError(
            f"{where} rate limited the request; gave up after waiting {waited:.1f} s in total",
            retry_after=parse_retry_after(response),
            waited_seconds=waited,
            hint=WAF_HINT,
            **common,
        )
    if status >= 500:
        return ServerError(f"{where} answered {status}", hint=TOKEN_ENDPOINT_FAILED_HINT, **common)
    if status in (400, 401, 403):
        return AuthenticationError(
            f"{where} rejected the credentials", hint=CREDENTIALS_HINT, **common
        )
    return AuthenticationError(
        f"{where} answered {status}: check PLUME_TOKEN_URL", hint=TOKEN_URL_HINT, **common
    )


def make_error(
    response: httpx.Response,
    *,
    operation_context: OperationContext,
    waited_seconds: float | None = None,
    static_token: bool = False,
) -> ApiError:
    """Map a non-success response to the matching `ApiError` subclass.

    The only place that inspects an error status. `waited_seconds` is given when the rate-limit
    wait cap is spent; `static_token` changes the 401 hint for pre-issued tokens.
    """
    context = operation_context
    operation = context.operation
    status = response.status_code
    name, message, is_json = _parse_body(response)
    if operation is Operation.FETCH_TOKEN:
        return _token_error(response, context, (name, message, is_json), waited_seconds)

    common: dict[str, Any] = {
        "status": status,
        "method": response.request.method,
        "path": response.request.url.path,
        "api_message": redact(message),
        "operation": operation,
    }
    summary = f"{context.subject} failed"

    if is_rate_limited(response, name, is_json):
        waited = waited_seconds or 0.0
        what = "the WAF blocked the request" if status == 403 else "rate limited"
        return RateLimitedError(
            f"{summary}: {what}; gave up after waiting {waited:.1f} s in total",
            retry_after=parse_retry_after(response),
            waited_seconds=waited,
            hint=WAF_HINT,
            **common,
        )

    ids: dict[str, str] = dict(context.ids)
    template = template_for(operation, status)
    cls: type[ApiError] = _STATUS_CLASSES.get(status, ApiError)
    if status >= 500:
        cls = ServerError
        template = template or SERVER_HINT
    elif status == 401 and static_token:
        template = STATIC_TOKEN_HINT
    elif status == 403 and operation is Operation.REGISTER_CUSTOMER:
        cls = PartnerLockedError
    elif status == 422 and operation is Operation.CLAIM_NODE:
        rejection, limit = _claim_rejection(message)
        cls = LicenseLimitError if rejection is ClaimRejection.LICENSE_LIMIT else cls
        template = CLAIM_REJECTED_HINTS[rejection]
        ids["limit"] = limit
    elif status == 404 and operation is Operation.CLAIM_NODE and _names_location(message):
        template = CLAIM_LOCATION_GONE_HINT

    hint = fill(template, ids) if template else unexpected_status_hint(status)
    return cls(summary, hint=hint, **common)


def _names_location(message: str) -> bool:
    lowered = message.lower()
    return "location" in lowered and "serial" not in lowered and "node" not in lowered


_PODS_AUTHORIZED = re.compile(r"numPodsAuthorized\D{0,5}(\d+)", re.IGNORECASE)
_LICENSE_LIMIT = re.compile(r"numpodsauthorized|licen[cs]e|pods? authori[sz]ed", re.IGNORECASE)
_SERIAL_FIELD = re.compile(r"serial\s?number|\bserial\b.*\b(long|length|characters|valid)", re.I)
_FIELD_RULE = re.compile(r"too long|length|characters|printable|invalid|not valid", re.I)


def _claim_rejection(message: str) -> tuple[ClaimRejection, str]:
    """Why Plume rejected a claim with 422, read from its message, and the license limit.

    Monitor mode, the license limit (numPodsAuthorized), a field Plume rejected (nickname,
    serial number), a non-unique accountId; anything else is `OTHER`, whose hint points at
    Plume's message (quoted in the error), never a license error. The limit is
    `numPodsAuthorized=N` when the message says N.
    """
    lowered = message.lower()
    limit = "its numPodsAuthorized limit"
    if "monitor" in lowered:
        return ClaimRejection.MONITOR_MODE, limit
    if _LICENSE_LIMIT.search(message):
        match = _PODS_AUTHORIZED.search(message)
        return ClaimRejection.LICENSE_LIMIT, (
            f"numPodsAuthorized={match.group(1)}" if match else limit
        )
    if "nickname" in lowered:
        return ClaimRejection.NICKNAME, limit
    if _SERIAL_FIELD.search(message):
        return ClaimRejection.SERIAL_NUMBER, limit
    if "accountid" in lowered or "unique" in lowered:
        return ClaimRejection.ACCOUNT_NOT_UNIQUE, limit
    if _FIELD_RULE.search(message):
        return ClaimRejection.FIELD, limit
    return ClaimRejection.OTHER, limit


def make_transport_error(
    err: httpx.TransportError,
    *,
    operation_context: OperationContext,
    request: httpx.Request,
    token_request: httpx.Request | None = None,
) -> TransportError:
    """Wrap an httpx transport failure of `request` (caller raises it `from err`).

    `token_request` is given when the failed request was the OAuth token request: the message
    then names the token endpoint, not the API call that never went out.
    """
    summary = f"{operation_context.subject} failed"
    failed, operation = request, operation_context.operation
    if token_request is not None:
        summary += f": token endpoint {token_url_of(token_request)} unreachable"
        failed, operation = token_request, Operation.FETCH_TOKEN
        if isinstance(err, httpx.TimeoutException):
            hint = TOKEN_ENDPOINT_TIMEOUT_HINT
        else:
            hint = TOKEN_ENDPOINT_UNREACHABLE_HINT
    elif isinstance(err, httpx.TimeoutException):
        hint = TIMEOUT_HINT
    elif isinstance(err, httpx.ConnectError):
        hint = CONNECT_HINT
    else:
        hint = DROPPED_HINT
    kind = type(err).__name__
    return TransportError(
        summary,
        status=None,
        method=failed.method,
        path=failed.url.path,
        api_message=redact(f"{kind}: {err}" if str(err) else kind),
        hint=hint,
        operation=operation,
    )
