"""The one retry loop: a pure `decide` that says what to do after each attempt, and
`send_with_retries`, which only does it (send, sleep, ask the probe).

What is retried, and how:

* rate limiting (WAF 403 `RequestBlocked`, 429): wait `Retry-After` (or backoff), for any
  call (the request never reached Plume), until `max_rate_limit_wait_seconds` is spent;
* connection never made (connect error/timeout, pool timeout, token endpoint unreachable):
  backoff and resend, for any call (nothing reached Plume);
* outcome unknown (read timeout, dropped connection, 500/502/503/504): backoff and resend for
  idempotent calls only. A non-idempotent call (register) resends only if it has a `probe`,
  which is asked first whether the earlier attempt took effect; its answer is returned then.
  After such an attempt a 400, 409 or 422 asks the probe too (the earlier attempt may be why);
* the OAuth token endpoint failing on the way (5xx, 429, the WAF's 403, unreachable): the same
  waits and backoff, for any call, since the API request was not sent; the error raised in the
  end names the token endpoint.

A 409 or any other 4xx is never retried. `RetryTrace` tells a caller whether an attempt whose
outcome is unknown came before the answer it got (a claim then reconciles what it claimed).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeAlias, TypeVar

import httpx

from plume_provider.client._auth import TokenEndpointAnswered
from plume_provider.client._error_mapping import (
    make_error,
    make_transport_error,
    parse_retry_after,
)
from plume_provider.client._redaction import logger
from plume_provider.client.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
)
from plume_provider.client.operations import Operation, OperationContext

__all__ = [
    "INITIAL_RETRY_DELAY",
    "JITTER_FRACTION",
    "MAX_HONOURED_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RATE_LIMIT_MIN_WAIT",
    "RETRYABLE_STATUSES",
    "Answered",
    "Attempt",
    "CallRules",
    "Decision",
    "Fail",
    "GiveUp",
    "Outcome",
    "ProbeOrFail",
    "Retry",
    "RetryPolicy",
    "RetryTrace",
    "Succeed",
    "Unanswered",
    "backoff_delay",
    "decide",
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
_PROBED_AFTER_UNKNOWN = (ConflictError, BadRequestError, UnprocessableEntityError)

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

    outcome_unknown: bool = False
    """An attempt may have taken effect without its answer arriving (lost or 5xx answer)."""


@dataclass(frozen=True, slots=True)
class CallRules:
    """What one call allows: fixed for all its attempts."""

    idempotent: bool
    has_probe: bool
    max_retries: int
    max_rate_limit_wait: float
    no_retry_statuses: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Attempt:
    """The loop's state before an attempt; `decide` returns the next one, never changes it."""

    retries: int = 0
    """Backoff retries made so far (transport errors, 5xx); rate-limit waits do not count."""
    rate_limit_waits: int = 0
    waited: float = 0.0
    """Seconds spent waiting on rate limits so far."""
    maybe_applied: bool = False
    """An attempt may have taken effect without its answer arriving (`RetryTrace`)."""
    probing: bool = False
    """A non-idempotent call resent after an unknown outcome: a 400 / 409 / 422 asks the probe."""


@dataclass(frozen=True, slots=True)
class Answered:
    """An HTTP answer: of the API, or of the token endpoint on the way (`token_endpoint`)."""

    status: int
    error: ApiError | None
    """`make_error` of the answer; None for a success."""
    retry_after: float | None = None
    """The answer's `Retry-After`, in seconds."""
    token_endpoint: bool = False


@dataclass(frozen=True, slots=True)
class Unanswered:
    """No answer: a transport failure."""

    error: TransportError
    sent: bool | None
    """True: Plume may have acted on the request; False: it never reached Plume; None: a
    failure that is not retried at all."""


Outcome: TypeAlias = Answered | Unanswered


@dataclass(frozen=True, slots=True)
class Succeed:
    """Return the answer."""

    state: Attempt


@dataclass(frozen=True, slots=True)
class Fail:
    """Raise `error`: no rule retries this outcome."""

    error: ApiError
    state: Attempt


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Raise `error`: it would be retried, but the retries or the rate-limit wait cap are spent.

    `waited_seconds` is set when the cap is spent: the error raised then says how long it was.
    """

    error: ApiError
    state: Attempt
    waited_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Sleep `delay` seconds, then send again; with `probe`, ask the probe first (its answer
    is the result when it finds one). `rate_limited`: a rate-limit wait (the budget is told)."""

    delay: float
    error: ApiError
    state: Attempt
    probe: bool = False
    rate_limited: bool = False


@dataclass(frozen=True, slots=True)
class ProbeOrFail:
    """Ask the probe: its answer is the result; when it finds nothing, raise `error`."""

    error: ApiError
    state: Attempt


Decision: TypeAlias = Succeed | Fail | GiveUp | Retry | ProbeOrFail


def backoff_delay(retry_index: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: base 0.5 s doubling to 8 s, minus up to 25 %."""
    return _jittered(retry_index, rand())


def _jittered(retry_index: int, jitter: float) -> float:
    base = min(INITIAL_RETRY_DELAY * 2.0**retry_index, MAX_RETRY_DELAY)
    return base * (1.0 - JITTER_FRACTION * jitter)


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


def decide(outcome: Outcome, state: Attempt, rules: CallRules, jitter: float) -> Decision:
    """What to do after one attempt. Pure: the same arguments always give the same decision.

    `jitter` is this attempt's random draw in [0, 1) for the backoff (`backoff_delay`).
    """
    if isinstance(outcome, Unanswered):
        sent = outcome.sent
        if sent:
            state = replace(state, maybe_applied=True)
        if sent is None or (sent and not rules.idempotent and not rules.has_probe):
            return Fail(outcome.error, state)
        if state.retries >= rules.max_retries:
            return GiveUp(outcome.error, state)
        resend_blind = not sent or rules.idempotent
        after = replace(state, retries=state.retries + 1, probing=state.probing or not resend_blind)
        delay = _jittered(state.retries, jitter)
        return Retry(delay, outcome.error, after, probe=not resend_blind)

    error = outcome.error
    if error is None:
        return Succeed(state)

    if isinstance(error, RateLimitedError):
        wait = outcome.retry_after
        if wait is None:
            wait = _jittered(state.rate_limit_waits, jitter)
        wait = max(wait, RATE_LIMIT_MIN_WAIT)
        if state.waited + wait > rules.max_rate_limit_wait:
            return GiveUp(error, state, waited_seconds=state.waited)
        after = replace(
            state, rate_limit_waits=state.rate_limit_waits + 1, waited=state.waited + wait
        )
        return Retry(wait, error, after, rate_limited=True)

    server_retryable = isinstance(error, ServerError) and outcome.status in RETRYABLE_STATUSES
    retry_after = outcome.retry_after
    if retry_after is not None and 0 < retry_after <= MAX_HONOURED_RETRY_AFTER:
        server_delay = retry_after
    else:
        server_delay = _jittered(state.retries, jitter)

    if outcome.token_endpoint:
        if not server_retryable:
            return Fail(error, state)
        if state.retries >= rules.max_retries:
            return GiveUp(error, state)
        return Retry(server_delay, error, replace(state, retries=state.retries + 1))

    if state.probing and isinstance(error, _PROBED_AFTER_UNKNOWN):
        return ProbeOrFail(error, state)

    if (
        not server_retryable
        or outcome.status in rules.no_retry_statuses
        or not (rules.idempotent or rules.has_probe)
    ):
        return Fail(error, state)
    if state.retries >= rules.max_retries:
        return GiveUp(error, state)
    after = replace(
        state,
        retries=state.retries + 1,
        maybe_applied=True,
        probing=state.probing or not rules.idempotent,
    )
    return Retry(server_delay, error, after, probe=not rules.idempotent)


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
    rules = CallRules(
        idempotent=idempotent,
        has_probe=probe is not None,
        max_retries=policy.max_retries,
        max_rate_limit_wait=policy.max_rate_limit_wait,
        no_retry_statuses=no_retry_statuses,
    )
    trace = trace if trace is not None else RetryTrace()
    state = Attempt()
    while True:
        response, outcome, cause = _attempt(send, request, context, policy)
        decision = decide(outcome, state, rules, random.random())
        if decision.state.maybe_applied:
            trace.outcome_unknown = True
        if isinstance(decision, Succeed):
            assert response is not None  # only an answer succeeds
            return response
        if isinstance(decision, GiveUp) and decision.waited_seconds is not None:
            assert response is not None  # only an answer is rate limited
            raise _rebuilt(response, outcome, context, policy, decision.waited_seconds)
        if isinstance(decision, Fail | GiveUp):
            if cause is None:
                raise decision.error
            raise decision.error from cause
        if isinstance(decision, Retry):
            _log_retry(decision, state, policy)
            if decision.rate_limited and policy.on_rate_limited is not None:
                policy.on_rate_limited(decision.delay)
            policy.sleep(decision.delay)
        if probe is not None and (isinstance(decision, ProbeOrFail) or decision.probe):
            found = probe()
            if found is not None:
                return found
        if isinstance(decision, ProbeOrFail):
            raise decision.error
        state = decision.state


def _attempt(
    send: Callable[[], httpx.Response],
    request: httpx.Request,
    context: OperationContext,
    policy: RetryPolicy,
) -> tuple[httpx.Response | None, Outcome, httpx.TransportError | None]:
    """Send once: (the answer if any, what `decide` needs to know, the transport failure)."""
    token_failed = False
    try:
        response = send()
    except TokenEndpointAnswered as answered:
        response, token_failed = answered.response, True
    except httpx.TransportError as err:
        token_request = _token_request(err, request)
        error = make_transport_error(
            err, operation_context=context, request=request, token_request=token_request
        )
        return None, Unanswered(error, _request_sent(err, request)), err
    if response.is_success and not token_failed:
        return response, Answered(response.status_code, None), None
    error_context = _token_context(context) if token_failed else context
    api_error = make_error(
        response, operation_context=error_context, static_token=policy.static_token
    )
    answered_outcome = Answered(
        response.status_code,
        api_error,
        retry_after=parse_retry_after(response),
        token_endpoint=token_failed,
    )
    return response, answered_outcome, None


def _rebuilt(
    response: httpx.Response,
    outcome: Outcome,
    context: OperationContext,
    policy: RetryPolicy,
    waited_seconds: float,
) -> ApiError:
    """The rate-limit error raised once the wait cap is spent: it says how long was waited."""
    token_failed = isinstance(outcome, Answered) and outcome.token_endpoint
    return make_error(
        response,
        operation_context=_token_context(context) if token_failed else context,
        waited_seconds=waited_seconds,
        static_token=policy.static_token,
    )


def _log_retry(decision: Retry, before: Attempt, policy: RetryPolicy) -> None:
    error = decision.error
    if decision.rate_limited:
        logger.warning(
            "rate limited (HTTP %d on %s %s); waiting %.1f s (%.1f s so far)",
            error.status,
            error.method,
            error.path,
            decision.delay,
            before.waited,
        )
        return
    logger.warning(
        "%s; retry %d of %d in %.2f s",
        str(error).split("\n", 1)[0],
        decision.state.retries,
        policy.max_retries,
        decision.delay,
    )


def _token_context(context: OperationContext) -> OperationContext:
    return OperationContext(Operation.FETCH_TOKEN, context.subject, context.ids)


def _token_request(err: httpx.TransportError, request: httpx.Request) -> httpx.Request | None:
    """The OAuth token request, when that (not the API request) is the one that failed."""
    try:
        failed = err.request
    except RuntimeError:
        return None
    return failed if failed is not request else None
