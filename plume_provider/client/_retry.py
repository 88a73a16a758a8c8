"""The one retry loop, with its constants.

What is retried, and how:

* rate limiting (WAF 403 `RequestBlocked`, 429): wait `Retry-After` (or backoff), for any
  call (the request never reached Plume), until `max_rate_limit_wait_seconds` is spent;
* connection never made (connect error/timeout, pool timeout, token endpoint unreachable):
  backoff and resend, for any call (nothing reached Plume);
* outcome unknown (read timeout, dropped connection, 500/502/503/504): backoff and resend for
  idempotent calls only. A non-idempotent call (register) resends only if it has a `probe`,
  which is asked first whether the earlier attempt took effect; its answer is returned then;
* the OAuth token endpoint failing on the way (5xx, 429, the WAF's 403, unreachable): the same
  waits and backoff, for any call, since the API request was not sent; the error raised in the
  end names the token endpoint.

A 409 or any other 4xx is never retried. `RetryTrace` tells a caller whether an attempt whose
outcome is unknown came before the answer it got (a claim then reconciles what it claimed).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from plume_provider.client._auth import TokenEndpointAnswered
from plume_provider.client._redaction import logger
from plume_provider.client.errors import (
    TOKEN_OPERATION,
    BadRequestError,
    ConflictError,
    OperationContext,
    PlumeError,
    RateLimitedError,
    ServerError,
    UnprocessableEntityError,
    make_error,
    make_transport_error,
    parse_retry_after,
)

__all__ = [
    "INITIAL_RETRY_DELAY",
    "JITTER_FRACTION",
    "MAX_RETRY_DELAY",
    "RATE_LIMIT_MIN_WAIT",
    "RETRYABLE_STATUSES",
    "RetryPolicy",
    "RetryTrace",
    "backoff_delay",
    "send_with_retries",
]

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
JITTER_FRACTION = 0.25
RATE_LIMIT_MIN_WAIT = 1.0
MAX_HONOURED_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_OUTCOME_UNKNOWN = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Limits of the retry loop (from settings) and the sleep it uses (injectable)."""

    max_retries: int
    max_rate_limit_wait: float
    sleep: Callable[[float], None]
    static_token: bool = False
    on_rate_limited: Callable[[float], None] | None = None


@dataclass(slots=True)
class RetryTrace:
    """Filled in by `send_with_retries`: what happened on the way to its result."""

    attempts: int = 0
    outcome_unknown: bool = False
    """An attempt may have taken effect without its answer arriving (lost or 5xx answer)."""


def backoff_delay(retry_index: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: base 0.5 s doubling to 8 s, minus up to 25 %."""
    base = min(INITIAL_RETRY_DELAY * 2.0**retry_index, MAX_RETRY_DELAY)
    return base * (1.0 - JITTER_FRACTION * rand())


def _request_sent(err: httpx.TransportError, request: httpx.Request) -> bool | None:
    """True if Plume may have acted on `request`, False if not, None if not retryable at all."""
    try:
        failed = err.request
    except RuntimeError:
        failed = request
    if failed is not request or isinstance(err, _NOT_SENT):
        return False
    if isinstance(err, _OUTCOME_UNKNOWN):
        return True
    return None


def send_with_retries(
    send: Callable[[], httpx.Response],
    request: httpx.Request,
    *,
    context: OperationContext,
    policy: RetryPolicy,
    idempotent: bool,
    no_retry_statuses: frozenset[int] = frozenset(),
    probe: Callable[[], T | None] | None = None,
    trace: RetryTrace | None = None,
) -> httpx.Response | T:
    """Send `request` via `send` until it succeeds, a rule says stop, or retries run out.

    Returns the successful response, or the probe's answer when a non-idempotent call's earlier
    attempt turns out to have taken effect. Raises the matching `PlumeError` otherwise.
    """
    retries = 0
    rate_limit_waits = 0
    waited = 0.0
    unknown_outcome = False
    method, path = request.method, request.url.path
    trace = trace if trace is not None else RetryTrace()
    token_context = OperationContext(TOKEN_OPERATION, context.subject, context.ids)

    def backoff(error: PlumeError, delay: float) -> None:
        nonlocal retries
        retries += 1
        logger.warning(
            "%s; retry %d of %d in %.2f s",
            str(error).split("\n", 1)[0],
            retries,
            policy.max_retries,
            delay,
        )
        policy.sleep(delay)

    while True:
        trace.attempts += 1
        token_failed = False
        try:
            response = send()
        except TokenEndpointAnswered as answered:
            response, token_failed = answered.response, True
        except httpx.TransportError as err:
            token_request = _token_request(err, request)
            error = make_transport_error(
                err,
                operation_context=context,
                method=method,
                path=path,
                token_request=token_request,
            )
            sent = False if token_request is not None else _request_sent(err, request)
            may_retry = sent is not None and retries < policy.max_retries
            if sent:
                trace.outcome_unknown = True
            if may_retry and sent and not idempotent:
                may_retry = probe is not None
                unknown_outcome = may_retry
            if not may_retry:
                raise error from err
            backoff(error, backoff_delay(retries))
            if sent and probe is not None and not idempotent:
                found = probe()
                if found is not None:
                    return found
            continue

        if response.is_success and not token_failed:
            return response
        error_context = token_context if token_failed else context
        api_error = make_error(
            response, operation_context=error_context, static_token=policy.static_token
        )

        if isinstance(api_error, RateLimitedError):
            wait = api_error.retry_after
            if wait is None:
                wait = backoff_delay(rate_limit_waits)
            wait = max(wait, RATE_LIMIT_MIN_WAIT)
            if waited + wait > policy.max_rate_limit_wait:
                raise make_error(
                    response,
                    operation_context=error_context,
                    waited_seconds=waited,
                    static_token=policy.static_token,
                )
            rate_limit_waits += 1
            logger.warning(
                "rate limited (HTTP %d on %s %s); waiting %.1f s (%.1f s so far)",
                response.status_code,
                api_error.method,
                api_error.path,
                wait,
                waited,
            )
            if policy.on_rate_limited is not None:
                policy.on_rate_limited(wait)
            policy.sleep(wait)
            waited += wait
            continue

        status = response.status_code
        if token_failed:
            if (
                isinstance(api_error, ServerError)
                and status in RETRYABLE_STATUSES
                and retries < policy.max_retries
            ):
                backoff(api_error, _server_error_delay(response, retries))
                continue
            raise api_error

        if (
            unknown_outcome
            and probe is not None
            and isinstance(api_error, ConflictError | BadRequestError | UnprocessableEntityError)
        ):
            found = probe()
            if found is not None:
                return found
            raise api_error

        if (
            isinstance(api_error, ServerError)
            and status in RETRYABLE_STATUSES
            and status not in no_retry_statuses
            and retries < policy.max_retries
            and (idempotent or probe is not None)
        ):
            trace.outcome_unknown = True
            backoff(api_error, _server_error_delay(response, retries))
            if not idempotent and probe is not None:
                unknown_outcome = True
                found = probe()
                if found is not None:
                    return found
            continue

        raise api_error


def _server_error_delay(response: httpx.Response, retries: int) -> float:
    """Backoff, or the server's `Retry-After` when it asks for a sensible wait."""
    delay = backoff_delay(retries)
    retry_after = parse_retry_after(response)
    if retry_after is not None and 0 < retry_after <= MAX_HONOURED_RETRY_AFTER:
        delay = retry_after
    return delay


def _token_request(err: httpx.TransportError, request: httpx.Request) -> httpx.Request | None:
    """The OAuth token request, when that (not the API request) is the one that failed."""
    try:
        failed = err.request
    except RuntimeError:
        return None
    return failed if failed is not request else None
