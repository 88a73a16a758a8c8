"""`decide`, the retry loop's pure decision, table by table: no HTTP, no sleeps, no emulator.

Each row is one attempt's outcome, the state before it and the call's rules, and the one
decision the loop must then carry out. `tests/client/test_retry.py` checks the loop that
carries decisions out, over real `httpx` answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from plume_provider.client._retry import (
    MAX_HONOURED_RETRY_AFTER,
    RATE_LIMIT_MIN_WAIT,
    Answered,
    Attempt,
    CallRules,
    Decision,
    Fail,
    GiveUp,
    Outcome,
    ProbeOrFail,
    Retry,
    Succeed,
    Unanswered,
    decide,
)
from plume_provider.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    LicenseLimitError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
)


def _api(cls: type[ApiError], status: int | None) -> ApiError:
    return cls(f"HTTP {status}", status=status, method="POST", path="/api/x")


E400 = _api(BadRequestError, 400)
E401 = _api(AuthenticationError, 401)
E404 = _api(NotFoundError, 404)
E409 = _api(ConflictError, 409)
E422 = _api(UnprocessableEntityError, 422)
E422_LICENSE = _api(LicenseLimitError, 422)
E429 = _api(RateLimitedError, 429)
E_WAF = _api(RateLimitedError, 403)
E500 = _api(ServerError, 500)
E501 = _api(ServerError, 501)
E502 = _api(ServerError, 502)
E503 = _api(ServerError, 503)
E504 = _api(ServerError, 504)
LOST = TransportError("no response", status=None, method="POST", path="/api/x")


def answer(
    error: ApiError | None, *, retry_after: float | None = None, token: bool = False
) -> Answered:
    status = 200 if error is None else error.status
    assert status is not None
    return Answered(status, error, retry_after=retry_after, token_endpoint=token)


def rules(
    *,
    idempotent: bool = True,
    probe: bool = False,
    max_retries: int = 3,
    max_wait: float = 60.0,
    no_retry: frozenset[int] = frozenset(),
) -> CallRules:
    return CallRules(
        idempotent=idempotent,
        has_probe=probe,
        max_retries=max_retries,
        max_rate_limit_wait=max_wait,
        no_retry_statuses=no_retry,
    )


IDEMPOTENT = rules()
ONCE_ONLY = rules(idempotent=False)
"""A non-idempotent call without a probe: never sent twice when it may have taken effect."""
PROBED = rules(idempotent=False, probe=True)
"""A non-idempotent call with a probe (register): asks before sending again."""
FRESH = Attempt()
SPENT = Attempt(retries=3)
"""Every backoff retry of the default rules made."""
PROBING = Attempt(retries=1, maybe_applied=True, probing=True)
"""After a non-idempotent call was resent over an unknown outcome."""


@dataclass(frozen=True)
class Row:
    outcome: Outcome
    state: Attempt
    rules: CallRules
    expected: Decision
    jitter: float = 0.0


TABLE: dict[str, Row] = {
    # -- success ---------------------------------------------------------------------------
    "success": Row(answer(None), FRESH, IDEMPOTENT, Succeed(FRESH)),
    "success-after-retries-keeps-state": Row(answer(None), PROBING, PROBED, Succeed(PROBING)),
    # -- 5xx: outcome unknown ----------------------------------------------------------------
    "idempotent-500": Row(
        answer(E500), FRESH, IDEMPOTENT, Retry(0.5, E500, Attempt(retries=1, maybe_applied=True))
    ),
    "idempotent-502": Row(
        answer(E502), FRESH, IDEMPOTENT, Retry(0.5, E502, Attempt(retries=1, maybe_applied=True))
    ),
    "idempotent-503": Row(
        answer(E503), FRESH, IDEMPOTENT, Retry(0.5, E503, Attempt(retries=1, maybe_applied=True))
    ),
    "idempotent-504": Row(
        answer(E504), FRESH, IDEMPOTENT, Retry(0.5, E504, Attempt(retries=1, maybe_applied=True))
    ),
    "501-is-not-retried": Row(answer(E501), FRESH, IDEMPOTENT, Fail(E501, FRESH)),
    "5xx-full-jitter-takes-a-quarter-off": Row(
        answer(E502),
        FRESH,
        IDEMPOTENT,
        Retry(0.375, E502, Attempt(retries=1, maybe_applied=True)),
        jitter=1.0,
    ),
    "5xx-retry-after-honoured": Row(
        answer(E503, retry_after=3.0),
        FRESH,
        IDEMPOTENT,
        Retry(3.0, E503, Attempt(retries=1, maybe_applied=True)),
    ),
    "5xx-retry-after-of-one-second-honoured": Row(
        answer(E503, retry_after=1.0),
        FRESH,
        IDEMPOTENT,
        Retry(1.0, E503, Attempt(retries=1, maybe_applied=True)),
        jitter=1.0,
    ),
    "5xx-retry-after-of-the-cap-honoured": Row(
        answer(E503, retry_after=MAX_HONOURED_RETRY_AFTER),
        FRESH,
        IDEMPOTENT,
        Retry(MAX_HONOURED_RETRY_AFTER, E503, Attempt(retries=1, maybe_applied=True)),
    ),
    "5xx-retry-after-above-the-cap-backs-off": Row(
        answer(E503, retry_after=MAX_HONOURED_RETRY_AFTER + 1),
        Attempt(retries=1),
        IDEMPOTENT,
        Retry(1.0, E503, Attempt(retries=2, maybe_applied=True)),
    ),
    "5xx-retry-after-zero-backs-off": Row(
        answer(E503, retry_after=0.0),
        FRESH,
        IDEMPOTENT,
        Retry(0.5, E503, Attempt(retries=1, maybe_applied=True)),
    ),
    "5xx-retries-spent": Row(answer(E502), SPENT, IDEMPOTENT, GiveUp(E502, SPENT)),
    "5xx-in-no-retry-statuses": Row(
        answer(E503), FRESH, rules(no_retry=frozenset({503})), Fail(E503, FRESH)
    ),
    "5xx-once-only-call-is-not-resent": Row(answer(E502), FRESH, ONCE_ONLY, Fail(E502, FRESH)),
    "5xx-probed-call-asks-the-probe-first": Row(
        answer(E502),
        FRESH,
        PROBED,
        Retry(0.5, E502, Attempt(retries=1, maybe_applied=True, probing=True), probe=True),
    ),
    "5xx-probed-call-retries-spent": Row(answer(E502), SPENT, PROBED, GiveUp(E502, SPENT)),
    # -- 4xx: never retried; after an unknown outcome a probed call asks the probe ------------
    "idempotent-400": Row(answer(E400), FRESH, IDEMPOTENT, Fail(E400, FRESH)),
    "idempotent-401": Row(answer(E401), FRESH, IDEMPOTENT, Fail(E401, FRESH)),
    "idempotent-404": Row(answer(E404), FRESH, IDEMPOTENT, Fail(E404, FRESH)),
    "idempotent-409": Row(answer(E409), FRESH, IDEMPOTENT, Fail(E409, FRESH)),
    "idempotent-422": Row(answer(E422), FRESH, IDEMPOTENT, Fail(E422, FRESH)),
    "probed-409-before-any-unknown-outcome": Row(answer(E409), FRESH, PROBED, Fail(E409, FRESH)),
    "probing-409": Row(answer(E409), PROBING, PROBED, ProbeOrFail(E409, PROBING)),
    "probing-400": Row(answer(E400), PROBING, PROBED, ProbeOrFail(E400, PROBING)),
    "probing-422": Row(answer(E422), PROBING, PROBED, ProbeOrFail(E422, PROBING)),
    "probing-license-limit": Row(
        answer(E422_LICENSE), PROBING, PROBED, ProbeOrFail(E422_LICENSE, PROBING)
    ),
    "probing-404-is-not-probed": Row(answer(E404), PROBING, PROBED, Fail(E404, PROBING)),
    # -- rate limiting: 429 and the WAF's 403 ---------------------------------------------------
    "429-retry-after": Row(
        answer(E429, retry_after=7.0),
        FRESH,
        IDEMPOTENT,
        Retry(7.0, E429, Attempt(rate_limit_waits=1, waited=7.0), rate_limited=True),
    ),
    "429-without-retry-after-first-wait-is-the-minimum": Row(
        answer(E429),
        FRESH,
        IDEMPOTENT,
        Retry(
            RATE_LIMIT_MIN_WAIT,
            E429,
            Attempt(rate_limit_waits=1, waited=RATE_LIMIT_MIN_WAIT),
            rate_limited=True,
        ),
    ),
    "429-without-retry-after-backs-off-by-its-own-count": Row(
        answer(E429),
        Attempt(retries=1, rate_limit_waits=3, waited=4.0),
        IDEMPOTENT,
        Retry(3.0, E429, Attempt(retries=1, rate_limit_waits=4, waited=7.0), rate_limited=True),
        jitter=1.0,
    ),
    "429-retry-after-below-the-minimum": Row(
        answer(E429, retry_after=0.2),
        FRESH,
        IDEMPOTENT,
        Retry(1.0, E429, Attempt(rate_limit_waits=1, waited=1.0), rate_limited=True),
    ),
    "waf-403": Row(
        answer(E_WAF, retry_after=10.0),
        Attempt(rate_limit_waits=1, waited=10.0),
        IDEMPOTENT,
        Retry(10.0, E_WAF, Attempt(rate_limit_waits=2, waited=20.0), rate_limited=True),
    ),
    "waf-403-wait-up-to-the-cap": Row(
        answer(E_WAF, retry_after=10.0),
        Attempt(rate_limit_waits=1, waited=15.0),
        rules(max_wait=25.0),
        Retry(10.0, E_WAF, Attempt(rate_limit_waits=2, waited=25.0), rate_limited=True),
    ),
    "waf-403-wait-cap-spent": Row(
        answer(E_WAF, retry_after=10.0),
        Attempt(rate_limit_waits=2, waited=20.0),
        rules(max_wait=25.0),
        GiveUp(E_WAF, Attempt(rate_limit_waits=2, waited=20.0), waited_seconds=20.0),
    ),
    "rate-limit-wait-needs-no-retries-left": Row(
        answer(E429, retry_after=2.0),
        SPENT,
        IDEMPOTENT,
        Retry(2.0, E429, replace(SPENT, rate_limit_waits=1, waited=2.0), rate_limited=True),
    ),
    "rate-limited-once-only-call-is-resent": Row(
        answer(E_WAF, retry_after=2.0),
        FRESH,
        ONCE_ONLY,
        Retry(2.0, E_WAF, Attempt(rate_limit_waits=1, waited=2.0), rate_limited=True),
    ),
    # -- the token endpoint answered on the way (the API request was not sent) ------------------
    "token-503": Row(
        answer(E503, token=True), FRESH, IDEMPOTENT, Retry(0.5, E503, Attempt(retries=1))
    ),
    "token-503-once-only-call": Row(
        answer(E503, token=True), FRESH, ONCE_ONLY, Retry(0.5, E503, Attempt(retries=1))
    ),
    "token-503-ignores-no-retry-statuses": Row(
        answer(E503, token=True),
        FRESH,
        rules(no_retry=frozenset({503})),
        Retry(0.5, E503, Attempt(retries=1)),
    ),
    "token-503-retry-after": Row(
        answer(E503, retry_after=4.0, token=True),
        FRESH,
        IDEMPOTENT,
        Retry(4.0, E503, Attempt(retries=1)),
    ),
    "token-5xx-retries-spent": Row(
        answer(E502, token=True), SPENT, IDEMPOTENT, GiveUp(E502, SPENT)
    ),
    "token-501": Row(answer(E501, token=True), FRESH, IDEMPOTENT, Fail(E501, FRESH)),
    "token-rejected": Row(answer(E401, token=True), FRESH, IDEMPOTENT, Fail(E401, FRESH)),
    "token-409-while-probing-is-not-probed": Row(
        answer(E409, token=True), PROBING, PROBED, Fail(E409, PROBING)
    ),
    "token-rate-limited": Row(
        answer(E_WAF, retry_after=5.0, token=True),
        FRESH,
        ONCE_ONLY,
        Retry(5.0, E_WAF, Attempt(rate_limit_waits=1, waited=5.0), rate_limited=True),
    ),
    # -- no answer: transport errors --------------------------------------------------------------
    "not-sent-idempotent": Row(
        Unanswered(LOST, sent=False), FRESH, IDEMPOTENT, Retry(0.5, LOST, Attempt(retries=1))
    ),
    "not-sent-once-only-call-is-resent": Row(
        Unanswered(LOST, sent=False), FRESH, ONCE_ONLY, Retry(0.5, LOST, Attempt(retries=1))
    ),
    "not-sent-probed-call-is-resent-without-asking": Row(
        Unanswered(LOST, sent=False), FRESH, PROBED, Retry(0.5, LOST, Attempt(retries=1))
    ),
    "not-sent-retries-spent": Row(
        Unanswered(LOST, sent=False), SPENT, IDEMPOTENT, GiveUp(LOST, SPENT)
    ),
    "sent-idempotent": Row(
        Unanswered(LOST, sent=True),
        FRESH,
        IDEMPOTENT,
        Retry(0.5, LOST, Attempt(retries=1, maybe_applied=True)),
    ),
    "sent-once-only-call-fails-and-says-it-may-have-applied": Row(
        Unanswered(LOST, sent=True), FRESH, ONCE_ONLY, Fail(LOST, Attempt(maybe_applied=True))
    ),
    "sent-probed-call-asks-the-probe-first": Row(
        Unanswered(LOST, sent=True),
        FRESH,
        PROBED,
        Retry(0.5, LOST, Attempt(retries=1, maybe_applied=True, probing=True), probe=True),
    ),
    "sent-retries-spent": Row(
        Unanswered(LOST, sent=True),
        SPENT,
        IDEMPOTENT,
        GiveUp(LOST, replace(SPENT, maybe_applied=True)),
    ),
    "sent-probed-retries-spent": Row(
        Unanswered(LOST, sent=True), SPENT, PROBED, GiveUp(LOST, replace(SPENT, maybe_applied=True))
    ),
    "sent-unknown-is-never-retried": Row(
        Unanswered(LOST, sent=None), FRESH, IDEMPOTENT, Fail(LOST, FRESH)
    ),
    "sent-unknown-probed-call": Row(Unanswered(LOST, sent=None), FRESH, PROBED, Fail(LOST, FRESH)),
    "transport-backoff-with-full-jitter": Row(
        Unanswered(LOST, sent=False),
        Attempt(retries=2),
        IDEMPOTENT,
        Retry(1.5, LOST, Attempt(retries=3)),
        jitter=1.0,
    ),
}


@pytest.mark.parametrize("row", list(TABLE.values()), ids=list(TABLE))
def test_decide(row: Row) -> None:
    assert decide(row.outcome, row.state, row.rules, row.jitter) == row.expected


def test_the_table_reaches_every_kind_of_decision() -> None:
    kinds = {type(row.expected) for row in TABLE.values()}
    assert kinds == {Succeed, Fail, GiveUp, Retry, ProbeOrFail}


SCHEDULE = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(answer(E502), id="5xx"),
        pytest.param(answer(E503, token=True), id="token-5xx"),
        pytest.param(Unanswered(LOST, sent=False), id="not-sent"),
        pytest.param(Unanswered(LOST, sent=True), id="sent"),
    ],
)
def test_backoff_schedule_over_a_whole_call(outcome: Outcome) -> None:
    """Six failures in a row, retried: 0.5, 1, 2, 4, 8, 8 s (no jitter); the seventh gives up."""
    six = rules(max_retries=6)
    state, delays = FRESH, []
    for _ in range(6):
        decision = decide(outcome, state, six, 0.0)
        assert isinstance(decision, Retry)
        delays.append(decision.delay)
        state = decision.state
    assert delays == SCHEDULE
    assert state.retries == 6
    assert isinstance(decide(outcome, state, six, 0.0), GiveUp)


def test_rate_limit_backoff_schedule_starts_at_the_minimum_wait() -> None:
    state, waits = FRESH, []
    for _ in range(6):
        decision = decide(answer(E429), state, rules(max_wait=1000.0), 0.0)
        assert isinstance(decision, Retry)
        assert decision.rate_limited
        waits.append(decision.delay)
        state = decision.state
    assert (
        waits == [max(d, RATE_LIMIT_MIN_WAIT) for d in SCHEDULE] == [1.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    )
    assert state.waited == sum(waits)
    assert state.retries == 0


def test_jitter_takes_off_at_most_a_quarter() -> None:
    for jitter in (0.0, 0.3, 0.999):
        decision = decide(answer(E502), Attempt(retries=4), rules(max_retries=6), jitter)
        assert isinstance(decision, Retry)
        assert decision.delay == pytest.approx(8.0 * (1 - 0.25 * jitter))


def test_decide_is_pure() -> None:
    row = TABLE["sent-probed-call-asks-the-probe-first"]
    before = replace(row.state)
    first = decide(row.outcome, row.state, row.rules, row.jitter)
    assert decide(row.outcome, row.state, row.rules, row.jitter) == first
    assert row.state == before
