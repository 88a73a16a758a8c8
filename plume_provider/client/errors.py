"""Every failure the Plume client raises: the exception tree, and nothing else.

```
PlumeError                          base of everything below
├── ConfigurationError              settings unusable (no credentials, no partner id, ...)
│   ├── RateBudgetUnavailableError  the shared rate budget (machine file, Redis) cannot be used;
│   │                               .problem .next_step .sent (requests granted before)
│   └── JournalError                discover's journal: made for other settings, or a bad line
├── InputValidationError            input rejected before any call (quotes in a name, bad serial)
└── ApiError                        .status .method .path .api_message .hint .operation
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
`.status`. Which class and which hint a response gets is decided in one function,
`_error_mapping.make_error`; the hints are in `hints.py`, keyed by `operations.Operation` (what
`ApiError.operation` holds). Messages never carry credentials.

`make_error`, `make_transport_error`, `is_rate_limited`, `OperationContext` and
`account_taken_hint` lived here before: they still resolve from this module (from their new
homes), so existing imports keep working.

`ValidationError` (400 and 422 as one class) is gone; the name still resolves, with a
`DeprecationWarning`, to the tuple `(BadRequestError, UnprocessableEntityError)`, so an old
`except ValidationError` catches what it used to. It is not in `__all__` and type checkers do
not see it: it clashed with pydantic's `ValidationError`.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names that moved out (`_MOVED`), as type checkers see them here
    from plume_provider.client._error_mapping import (
        is_rate_limited as is_rate_limited,  # noqa: PLC0414
    )
    from plume_provider.client._error_mapping import (
        make_error as make_error,  # noqa: PLC0414
    )
    from plume_provider.client._error_mapping import (
        make_transport_error as make_transport_error,  # noqa: PLC0414
    )
    from plume_provider.client.hints import (
        account_taken_hint as account_taken_hint,  # noqa: PLC0414
    )
    from plume_provider.client.operations import (
        OperationContext as OperationContext,  # noqa: PLC0414
    )

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InputValidationError",
    "JournalError",
    "LicenseLimitError",
    "NotFoundError",
    "PartnerLockedError",
    "PermissionDeniedError",
    "PlumeError",
    "RateBudgetUnavailableError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "UnprocessableEntityError",
]


class PlumeError(Exception):
    """Base class of every error raised by `plume_provider`."""


class ConfigurationError(PlumeError):
    """The settings cannot work (missing credentials, missing partner id, bad URL)."""


class RateBudgetUnavailableError(ConfigurationError):
    """The shared rate budget cannot be used; no request is sent to Plume without it.

    `problem` says what failed, `next_step` what to do; the message between them says what was
    sent: nothing, or how many requests this process's budget had granted before."""

    def __init__(self, problem: str, next_step: str, sent: int = 0) -> None:
        self.problem = problem
        self.next_step = next_step
        self.sent = sent
        if sent:
            what = (
                f"this request was not sent to Plume ({sent} earlier request(s) of this process "
                "were)"
            )
        else:
            what = "nothing was sent to Plume"
        super().__init__(f"{problem}; {what}: {next_step}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problem, self.next_step, self.sent))

    def after(self, sent: int) -> RateBudgetUnavailableError:
        """The same failure, met after `sent` requests had been granted."""
        return RateBudgetUnavailableError(self.problem, self.next_step, sent)


class JournalError(ConfigurationError):
    """`plume-fleet discover`'s journal cannot be used: made for other settings, or a line of
    it is not a journaled answer. Nothing is called; the message names the file and the fix."""


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


class ApiError(PlumeError):
    """A call to Plume failed: carries where (method, path), Plume's message and a next step.

    `operation` is the `operations.Operation` that failed (a `str`: it compares equal to the
    client method's name), or "" when the error was not raised by an operation.
    """

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


DEPRECATED_VALIDATION_ERROR = (
    "ValidationError is deprecated: catch BadRequestError (400) or UnprocessableEntityError "
    "(422); the old name is now the tuple of both"
)

_MOVED: Mapping[str, str] = {
    "OperationContext": "plume_provider.client.operations",
    "account_taken_hint": "plume_provider.client.hints",
    "is_rate_limited": "plume_provider.client._error_mapping",
    "make_error": "plume_provider.client._error_mapping",
    "make_transport_error": "plume_provider.client._error_mapping",
}
"""Names this module held before the tree was split from the mapping and the hints."""


def deprecated_names(module: str, moved: Mapping[str, str] | None = None) -> Callable[[str], Any]:
    """A module `__getattr__` serving the removed public name `ValidationError` (the tuple of
    its two successors) with a `DeprecationWarning`, and each name of `moved` from the module
    it names; any other name is missing from `module`."""

    def __getattr__(name: str) -> Any:
        home = (moved or {}).get(name)
        if home is not None:
            return getattr(importlib.import_module(home), name)
        if name != "ValidationError":
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(DEPRECATED_VALIDATION_ERROR, DeprecationWarning, stacklevel=2)
        return (BadRequestError, UnprocessableEntityError)

    return __getattr__


if not TYPE_CHECKING:
    __getattr__ = deprecated_names(__name__, _MOVED)
