"""Every failure the Plume client raises, and the one place that maps a response to one.

```
PlumeError                          base of everything below
├── ConfigurationError              settings unusable (no credentials, no partner id, ...)
├── InputValidationError            input rejected before any call (quotes in a name, bad serial)
└── ApiError                        .status .method .path .api_message .hint
    ├── AuthenticationError         401, or the token endpoint refused the credentials (or its
    │                               URL is wrong: 404); token endpoint 5xx / 429 / unreachable
    │                               are the ServerError / RateLimitedError / TransportError below
    ├── PermissionDeniedError       403 that is not the WAF (e.g. node of another partner)
    │   └── PartnerLockedError      403 on register: partner locked for new accounts
    ├── NotFoundError               404
    ├── ConflictError               409 (accountId taken, node owned by another customer, ...)
    ├── BadRequestError             400 (required field missing, node already unclaimed, ...)
    ├── UnprocessableEntityError    422 (a field's value rejected, monitor mode, ...)
    │   └── LicenseLimitError       422 on claim whose message names numPodsAuthorized / licenses
    ├── RateLimitedError            WAF 403 (RequestBlocked) / 429 after the wait cap
    ├── ServerError                 5xx
    └── TransportError              connect error, timeout, dropped connection (status None)
```

One status, one class, so a caller's `except` says what Plume answered and nothing re-reads
`.status`. `make_error` is the only function that turns an HTTP response into an exception
(the token endpoint's answers too). Operations pass an `OperationContext` (what was attempted,
on which ids) so the message names the object and the hint names the next step. Messages never
carry credentials: Plume's own message goes through `redact`, and paths are reported without
their query string.

`ValidationError` (400 and 422 as one class) is gone; the name still resolves, with a
`DeprecationWarning`, to the tuple `(BadRequestError, UnprocessableEntityError)`, so an old
`except ValidationError` catches what it used to. It is not in `__all__` and type checkers do
not see it: it clashed with pydantic's `ValidationError`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from plume_provider.client._redaction import redact

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InputValidationError",
    "LicenseLimitError",
    "NotFoundError",
    "OperationContext",
    "PartnerLockedError",
    "PermissionDeniedError",
    "PlumeError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnprocessableEntityError",
    "is_rate_limited",
    "make_error",
    "make_transport_error",
]

TOKEN_HINT = (
    "token rejected: check PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) "
    "and the partnerId scope"
)
CREDENTIALS_HINT = (
    "credentials rejected: check PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) "
    "and the partnerId scope"
)
TOKEN_URL_HINT = (
    "check PLUME_TOKEN_URL (plume:tokenUrl): it must be the token URL Plume handed out, "
    "e.g. https://<okta-host>/oauth2/<server-id>/v1/token"
)
TOKEN_OPERATION = "fetch_token"
"""`ApiError.operation` of a failure of the OAuth token endpoint (not of the API call)."""
WAF_HINT = (
    "Plume allows 2,000 requests per 5 minutes per IP (about 6 per second); lower "
    "PLUME_REQUESTS_PER_SECOND or raise max_rate_limit_wait_seconds, then retry"
)
STATIC_TOKEN_HINT = (
    "the pre-issued PLUME_TOKEN was rejected or has expired: issue a new one, or configure "
    "PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) and PLUME_PARTNER_ID instead"
)
WAF_BLOCK_NAME = "RequestBlocked"
_MAX_BODY_IN_MESSAGE = 300


class PlumeError(Exception):
    """Base class of every error raised by `plume_provider`."""


class ConfigurationError(PlumeError):
    """The settings cannot work (missing credentials, missing partner id, bad URL)."""


class InputValidationError(PlumeError):
    """An input was rejected locally, before any call reached Plume.

    `errors` holds `(field, reason)` pairs, ready for Pulumi `CheckFailure`s.
    """

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[tuple[str, str]] = errors or []

    @classmethod
    def from_pydantic(cls, exc: Any, *, subject: str = "input") -> InputValidationError:
        """Build from a `pydantic.ValidationError`, keeping one `(field, reason)` per problem."""
        pairs: list[tuple[str, str]] = []
        for item in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(part) for part in item.get("loc", ())) or subject
            message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
            pairs.append((loc, message))
        text = "; ".join(f"{loc}: {msg}" for loc, msg in pairs) or str(exc)
        return cls(f"invalid {subject}: {text}", pairs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.errors))


@dataclass(frozen=True, slots=True)
class OperationContext:
    """What an operation was doing, for messages and hints.

    `operation` is the client method name (`claim_node`), `subject` a short human phrase
    (`claim node LAB-POD-0007`), `ids` the object ids the hint templates may name.
    """

    operation: str
    subject: str
    ids: Mapping[str, str] = field(default_factory=dict)


class ApiError(PlumeError):
    """A call to Plume failed: carries where (method, path), Plume's message and a next step."""

    def __init__(
        self,
        summary: str,
        *,
        status: int | None,
        method: str,
        path: str,
        api_message: str = "",
        hint: str = "",
        operation: str = "",
    ) -> None:
        self.summary = summary
        self.status = status
        self.method = method
        self.path = path
        self.api_message = api_message
        self.hint = hint
        self.operation = operation
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method} {self.path}"
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        line = f"{self.summary} ({status} on {where})"
        if self.api_message:
            line += f": {self.api_message}"
        return f"{line}\nhint: {self.hint}" if self.hint else line

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, method={self.method!r}, "
            f"path={self.path!r}, api_message={self.api_message!r}, hint={self.hint!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self.__dict__.copy()))


def _rebuild_api_error(cls: type[ApiError], state: dict[str, Any]) -> ApiError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._render())
    return err


class AuthenticationError(ApiError):
    """401 from the API, or the token endpoint refused the credentials or scope, or answered
    something other than a token or a transient failure (a wrong token URL: 404)."""


class PermissionDeniedError(ApiError):
    """403 that is not the WAF: the caller may not do this (e.g. another partner's node)."""


class PartnerLockedError(PermissionDeniedError):
    """403 on register: the partner is locked for new account creation."""


class NotFoundError(ApiError):
    """404: the customer, location, node or partner does not exist (for this partner)."""


class ConflictError(ApiError):
    """409, or a confirmed ownership clash (node claimed elsewhere, accountId taken)."""


class BadRequestError(ApiError):
    """400: Plume rejected the request (a required field missing, a node already unclaimed)."""


class UnprocessableEntityError(ApiError):
    """422: Plume rejected a field's value (email taken, bad checkpoint, monitor mode, ...)."""


class LicenseLimitError(UnprocessableEntityError):
    """422 on claim: the location reached numPodsAuthorized."""


DEPRECATED_VALIDATION_ERROR = (
    "ValidationError is deprecated: catch BadRequestError (400) or UnprocessableEntityError "
    "(422); the old name is now the tuple of both"
)


def deprecated_names(module: str) -> Callable[[str], tuple[type[ApiError], ...]]:
    """A module `__getattr__` serving the removed public name `ValidationError` (the tuple of
    its two successors) with a `DeprecationWarning`; any other name is missing from `module`."""

    def __getattr__(name: str) -> tuple[type[ApiError], ...]:
        if name != "ValidationError":
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(DEPRECATED_VALIDATION_ERROR, DeprecationWarning, stacklevel=2)
        return (BadRequestError, UnprocessableEntityError)

    return __getattr__


if not TYPE_CHECKING:
    __getattr__ = deprecated_names(__name__)


class RateLimitedError(ApiError):
    """WAF 403 (RequestBlocked) or 429; raised only once the wait cap is spent."""

    def __init__(
        self,
        summary: str,
        *,
        retry_after: float | None = None,
        waited_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.retry_after = retry_after
        self.waited_seconds = waited_seconds
        super().__init__(summary, **kwargs)


class ServerError(ApiError):
    """5xx from Plume."""


class TransportError(ApiError):
    """No usable response: connect error, timeout or dropped connection."""


# (operation, status) -> hint template; `{name}` placeholders come from OperationContext.ids.
CUSTOMER_GONE_HINT = "customer {customer_id} does not exist; it may have been deleted"


def account_taken_hint(account_id: str, partner_id: str, customer_id: str | None = None) -> str:
    """The next step when an accountId is already some customer's: adopt, import or rename.

    Written once for the 409 of a register, the register recovery that finds a customer it did
    not create, and the provider's 409 (which knows the customer's id)."""
    who = f" (customer {customer_id})" if customer_id else ""
    target = customer_id or "<customerId>"
    return (
        f"accountId {account_id} already exists for partner {partner_id}{who}; to manage that "
        f"customer set adopt: true on the PlumeCustomer, or import it (importId: {target}; "
        f'import_id="{target}" in Python); or choose another accountId'
    )


_HINTS: dict[tuple[str, int], str] = {
    ("register_customer", 400): "a required field is missing; check accountId and partnerId",
    ("register_customer", 403): (
        "partner {partner_id} is locked for new accounts; ask Plume to unlock it"
    ),
    ("register_customer", 404): (
        "partner {partner_id} is unknown to Plume; check plume:partnerId / PLUME_PARTNER_ID"
    ),
    ("register_customer", 409): account_taken_hint("{account_id}", "{partner_id}"),
    ("register_customer", 422): (
        "check the email (well formed and not used by another customer), acceptLanguage, "
        "and that the token scope carries partnerId {partner_id}"
    ),
    ("get_customer", 401): (
        "customer {customer_id} is unknown to this partner (Plume answers 401 for other "
        "partners' customers), or " + TOKEN_HINT
    ),
    ("get_customer", 404): CUSTOMER_GONE_HINT,
    ("update_customer", 404): CUSTOMER_GONE_HINT,
    ("update_customer", 409): (
        "accountId {account_id} is already used by another customer of this partner; "
        "choose another accountId"
    ),
    ("update_customer", 422): "check the email (well formed and not already used) and name",
    ("list_locations", 404): CUSTOMER_GONE_HINT,
    ("set_onboarding_checkpoint", 404): (
        "location {location_id} of customer {customer_id} does not exist"
    ),
    ("set_onboarding_checkpoint", 422): "the checkpoint must be PodsAdded or OnboardingComplete",
    ("find_customers_by_account_id", 403): (
        "partner {partner_id} may not search customers; check the partnerId scope of the token"
    ),
    ("find_customers_by_account_id", 422): "the accountId to search for is not allowed",
    ("claim_node", 404): (
        "serial {serial_number} is not in partner {partner_id}'s inventory; check the serial "
        "or ask Plume to provision it"
    ),
    ("claim_node", 409): (
        "node {serial_number} is claimed by another customer; unclaim it there first"
    ),
    ("claim_node", 500): "Plume's inventory service may be unreachable; retry later",
    ("claim_node", 503): (
        "the claim may have taken effect; run the operation again or check node "
        "{serial_number} with lookup_node"
    ),
    ("list_nodes", 404): "location {location_id} of customer {customer_id} does not exist",
    ("rename_node", 404): "node {node_id} is not claimed at location {location_id}",
    ("lookup_node", 403): (
        "node {serial_number} belongs to another partner's inventory; check the serial"
    ),
    ("lookup_node", 404): (
        "serial {serial_number} is unknown to Plume; check the serial or ask Plume to provision it"
    ),
}

_STATUS_HINTS: dict[int, str] = {
    400: "Plume says a required field is missing; check the input",
    401: TOKEN_HINT,
    403: "this partner may not do this; check the partnerId scope and the object's owner",
    404: "the object does not exist (or not for this partner); check the ids",
    409: "the object conflicts with an existing one; check ownership and unique fields",
    422: "Plume rejected the input; fix the field named in the message",
    429: "Plume is rate limiting this client; lower PLUME_REQUESTS_PER_SECOND",
    500: "Plume failed internally; retry later",
    502: "Plume's gateway failed; retry later",
    503: "Plume is unavailable; retry later",
    504: "Plume's gateway timed out; retry later",
}

_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitedError,
}

_PODS_AUTHORIZED = re.compile(r"numPodsAuthorized\D{0,5}(\d+)", re.IGNORECASE)


class _Ids(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fill(template: str, ids: Mapping[str, str]) -> str:
    return template.format_map(_Ids(ids))


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
    from email.utils import parsedate_to_datetime
    from time import time

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
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
        "operation": TOKEN_OPERATION,
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
        return ServerError(
            f"{where} answered {status}",
            hint="the token endpoint failed (retried already); retry later",
            **common,
        )
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
    status = response.status_code
    name, message, is_json = _parse_body(response)
    if context.operation == TOKEN_OPERATION:
        return _token_error(response, context, (name, message, is_json), waited_seconds)

    ids = context.ids
    common: dict[str, Any] = {
        "status": status,
        "method": response.request.method,
        "path": response.request.url.path,
        "api_message": redact(message),
        "operation": context.operation,
    }
    summary = f"{context.subject} failed"

    if is_rate_limited(response, name, is_json):
        retry_after = parse_retry_after(response)
        waited = waited_seconds or 0.0
        what = "the WAF blocked the request" if status == 403 else "rate limited"
        return RateLimitedError(
            f"{summary}: {what}; gave up after waiting {waited:.1f} s in total",
            retry_after=retry_after,
            waited_seconds=waited,
            hint=WAF_HINT,
            **common,
        )

    template = _HINTS.get((context.operation, status)) or _STATUS_HINTS.get(status, "")
    cls: type[ApiError] = _STATUS_CLASSES.get(status, ApiError)
    if status >= 500:
        cls = ServerError
        template = template or "Plume failed; retry later"
    elif status == 401 and static_token:
        template = STATIC_TOKEN_HINT
    elif status == 403 and context.operation == "register_customer":
        cls = PartnerLockedError
    elif status == 422 and context.operation == "claim_node":
        cls, template = _claim_422(message)
    elif status == 404 and context.operation == "claim_node" and _names_location(message):
        template = "location {location_id} of customer {customer_id} does not exist; check the ids"

    if not template:
        template = f"unexpected HTTP {status}; check the request"
    return cls(summary, hint=_fill(template, ids), **common)


def _names_location(message: str) -> bool:
    lowered = message.lower()
    return "location" in lowered and "serial" not in lowered and "node" not in lowered


_LICENSE_LIMIT = re.compile(r"numpodsauthorized|licen[cs]e|pods? authori[sz]ed", re.IGNORECASE)
_SERIAL_FIELD = re.compile(r"serial\s?number|\bserial\b.*\b(long|length|characters|valid)", re.I)
_FIELD_RULE = re.compile(r"too long|length|characters|printable|invalid|not valid", re.I)


def _claim_422(message: str) -> tuple[type[ApiError], str]:
    """Classify a claim's 422 by Plume's message: the next step differs for each cause.

    Monitor mode, the license limit (numPodsAuthorized), a field Plume rejected (nickname,
    serial number), a non-unique accountId; anything else is an `UnprocessableEntityError`
    whose hint points at Plume's message (quoted in the error), never a license error.
    """
    lowered = message.lower()
    if "monitor" in lowered:
        return UnprocessableEntityError, (
            "location {location_id} is in monitor mode; take it out of monitor mode first"
        )
    if _LICENSE_LIMIT.search(message):
        match = _PODS_AUTHORIZED.search(message)
        limit = f"numPodsAuthorized={match.group(1)}" if match else "its numPodsAuthorized limit"
        return LicenseLimitError, (
            "location {location_id} has reached "
            + limit.replace("{", "{{").replace("}", "}}")
            + "; unclaim a node or ask Plume for more licenses"
        )
    if "nickname" in lowered:
        return UnprocessableEntityError, (
            "Plume rejected the nickname of node {serial_number}; change the PlumeNode's "
            "nickname as Plume's message says (e.g. shorter, printable characters only)"
        )
    if _SERIAL_FIELD.search(message):
        return UnprocessableEntityError, (
            "Plume rejected serial number {serial_number} as malformed; check the serial "
            "against the device label or the partner's inventory"
        )
    if "accountid" in lowered or "unique" in lowered:
        return UnprocessableEntityError, (
            "the customer's accountId+partnerId is not unique; check customer {customer_id}"
        )
    if _FIELD_RULE.search(message):
        return UnprocessableEntityError, (
            "Plume rejected a field of the claim of node {serial_number}; fix the nickname or "
            "serial number as Plume's message says"
        )
    return UnprocessableEntityError, (
        "Plume rejected the claim of node {serial_number} at location {location_id} for the "
        "reason in its message; fix that, then run again"
    )


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
        failed, operation = token_request, TOKEN_OPERATION
        if isinstance(err, httpx.TimeoutException):
            hint = (
                "the token endpoint did not answer in time (retried already); retry later, "
                "or check PLUME_TOKEN_URL (plume:tokenUrl) and raise PLUME_TIMEOUT_SECONDS"
            )
        else:
            hint = (
                "cannot reach the token endpoint (retried already); check PLUME_TOKEN_URL "
                "(plume:tokenUrl) and the network"
            )
    elif isinstance(err, httpx.TimeoutException):
        hint = "Plume did not answer in time; retry later or raise PLUME_TIMEOUT_SECONDS"
    elif isinstance(err, httpx.ConnectError):
        hint = "cannot connect to Plume; check PLUME_API_URL / PLUME_TOKEN_URL and the network"
    else:
        hint = "the connection dropped before Plume answered; retry later"
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
