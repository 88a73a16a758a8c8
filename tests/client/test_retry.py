"""The retry loop: backoff with jitter, what is retried, WAF/429 waits and their cap."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient, _auth, _retry
from plume_provider.client.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PlumeError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnprocessableEntityError,
)
from plume_provider.client.hints import STATIC_TOKEN_HINT
from plume_provider.client.operations import Operation, OperationContext
from plume_provider.client.settings import PlumeSettings

from .conftest import API, Sleeps, plume_error

CUSTOMER = {"id": "c1", "accountId": "A"}
URL = f"{API}/Customers/c1"


def waf_block(retry_after: str | None = "7") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"statusCode": 403, "name": "RequestBlocked", "message": "Request blocked"}}
    return httpx.Response(403, json=body, headers=headers)


SCHEDULE = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
"""The documented backoff: 0.5 s doubling to at most 8 s, each delay minus up to 25 % jitter."""


def test_backoff_follows_the_documented_schedule() -> None:
    assert [_retry.backoff_delay(i, lambda: 0.0) for i in range(6)] == SCHEDULE
    assert [_retry.backoff_delay(i, lambda: 1.0) for i in range(6)] == [
        0.375,
        0.75,
        1.5,
        3.0,
        6.0,
        6.0,
    ]
    assert _retry.backoff_delay(12, lambda: 0.0) == 8.0
    for index, base in enumerate(SCHEDULE):
        for _ in range(20):
            assert 0.75 * base <= _retry.backoff_delay(index) <= base


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(httpx.ConnectError("refused"), id="connect-error"),
        pytest.param(httpx.ConnectTimeout("slow connect"), id="connect-timeout"),
        pytest.param(httpx.ReadTimeout("slow read"), id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("dropped"), id="dropped"),
        pytest.param(httpx.ReadError("reset"), id="read-error"),
        pytest.param(plume_error(500), id="500"),
        pytest.param(plume_error(502), id="502"),
        pytest.param(plume_error(503), id="503"),
        pytest.param(plume_error(504), id="504"),
    ],
)
def test_idempotent_calls_retry_with_growing_delays(
    client: PlumeClient,
    mock: respx.MockRouter,
    sleeps: Sleeps,
    fault: httpx.Response | Exception,
) -> None:
    route = mock.get(URL).mock(
        side_effect=[fault, fault, fault, httpx.Response(200, json=CUSTOMER)]
    )
    assert client.get_customer("c1").id == "c1"
    assert route.call_count == 4
    assert len(sleeps) == 3
    for delay, base in zip(sleeps, SCHEDULE, strict=False):
        assert 0.75 * base <= delay <= base


def test_gives_up_after_max_retries(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = mock.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError) as info:
        client.get_customer("c1")
    assert route.call_count == 4
    assert info.value.status is None
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert "PLUME_TIMEOUT_SECONDS" in info.value.hint


def test_5xx_retry_after_is_honoured(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    slow = httpx.Response(503, headers={"Retry-After": "3"}, json={})
    mock.get(URL).mock(side_effect=[slow, httpx.Response(200, json=CUSTOMER)])
    client.get_customer("c1")
    assert sleeps == [3.0]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(409, ConflictError, id="409"),
        pytest.param(422, UnprocessableEntityError, id="422"),
    ],
)
def test_client_errors_are_not_retried(
    client: PlumeClient,
    mock: respx.MockRouter,
    sleeps: Sleeps,
    status: int,
    error: type[ApiError],
) -> None:
    route = mock.patch(URL).mock(return_value=plume_error(status))
    from plume_provider.client.models import CustomerUpdate

    with pytest.raises(error) as info:
        client.update_customer("c1", CustomerUpdate(name="x"))
    assert type(info.value) is error
    assert info.value.status == status
    # 401 is resent once after a token refresh (the auth flow), never by the retry loop.
    assert route.call_count == (2 if status == 401 else 1)
    assert sleeps == []


def test_claim_409_is_never_retried(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = mock.post(f"{API}/Customers/c/locations/l/nodes").mock(return_value=plume_error(409))
    with pytest.raises(ConflictError):
        client.claim_node("c", "l", "S1")
    assert route.call_count == 1
    assert sleeps == []


def test_waf_block_waits_retry_after_then_succeeds(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = mock.get(URL).mock(
        side_effect=[waf_block("7"), waf_block("5"), httpx.Response(200, json=CUSTOMER)]
    )
    assert client.get_customer("c1").id == "c1"
    assert sleeps == [7.0, 5.0]
    assert route.call_count == 3


def test_429_without_retry_after_backs_off(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    mock.get(URL).mock(side_effect=[httpx.Response(429), httpx.Response(200, json=CUSTOMER)])
    client.get_customer("c1")
    # The first backoff (0.375-0.5 s) is raised to the 1 s minimum wait of a rate limit.
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        pytest.param("0", 1.0, id="zero-becomes-1s"),
        pytest.param("0.2", 1.0, id="sub-second-becomes-1s"),
        pytest.param("3", 3.0, id="honoured"),
    ],
)
def test_waf_wait_is_at_least_one_second(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps, retry_after: str, expected: float
) -> None:
    mock.get(URL).mock(side_effect=[waf_block(retry_after), httpx.Response(200, json=CUSTOMER)])
    client.get_customer("c1")
    assert sleeps == [expected]


def test_every_retry_waits_the_documented_delay(
    settings: PlumeSettings, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    """Six 502s, then success: the waits are 0.5, 1, 2, 4, 8, 8 s, each minus up to 25 %."""
    six = settings.model_copy(update={"max_retries": 6})
    route = mock.get(URL).mock(
        side_effect=[plume_error(502)] * 6 + [httpx.Response(200, json=CUSTOMER)]
    )
    with PlumeClient(six, sleep=sleeps) as c:
        assert c.get_customer("c1").id == "c1"
    assert route.call_count == 7
    assert len(sleeps) == 6
    for delay, base in zip(sleeps, SCHEDULE, strict=True):
        assert 0.75 * base <= delay <= base, sleeps


@pytest.mark.parametrize(
    ("retry_after", "honoured"),
    [
        pytest.param("60", True, id="60s-honoured"),
        pytest.param("61", False, id="61s-backoff-instead"),
        pytest.param("0", False, id="0s-backoff-instead"),
    ],
)
def test_5xx_retry_after_is_honoured_up_to_a_minute(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps, retry_after: str, honoured: bool
) -> None:
    slow = httpx.Response(503, headers={"Retry-After": retry_after}, json={})
    mock.get(URL).mock(side_effect=[slow, httpx.Response(200, json=CUSTOMER)])
    client.get_customer("c1")
    if honoured:
        assert sleeps == [float(retry_after)]
    else:
        assert len(sleeps) == 1
        assert 0.375 <= sleeps[0] <= 0.5


def test_waf_gives_up_at_the_wait_cap_and_says_how_long(
    settings: PlumeSettings, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    capped = settings.model_copy(update={"max_rate_limit_wait_seconds": 25})
    route = mock.get(URL).mock(return_value=waf_block("10"))
    with PlumeClient(capped, sleep=sleeps) as c, pytest.raises(RateLimitedError) as info:
        c.get_customer("c1")
    assert sleeps == [10.0, 10.0]
    assert route.call_count == 3
    err = info.value
    assert err.waited_seconds == 20.0
    assert "waiting 20.0 s" in str(err)
    assert err.status == 403
    assert "PLUME_REQUESTS_PER_SECOND" in err.hint


def test_waf_block_of_register_is_retried(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    from plume_provider.client.models import CustomerRegistration

    route = mock.post(f"{API}/Customers/register").mock(
        side_effect=[waf_block("2"), httpx.Response(200, json={**CUSTOMER, "locationId": "l"})]
    )
    client.register_customer(CustomerRegistration(account_id="A", partner_id="p"))
    assert route.call_count == 2
    assert sleeps == [2.0]


def test_plain_403_is_not_rate_limiting(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = mock.get(f"{API}/Partners/nodes/S1").mock(
        return_value=plume_error(403, "node belongs to another partner", name="Forbidden")
    )
    with pytest.raises(PermissionDeniedError) as info:
        client.lookup_node("S1")
    assert not isinstance(info.value, RateLimitedError)
    assert route.call_count == 1
    assert sleeps == []


def test_waf_html_block_page_counts_as_rate_limiting(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    page = httpx.Response(403, text="<html>Request blocked</html>")
    mock.get(URL).mock(side_effect=[page, httpx.Response(200, json=CUSTOMER)])
    client.get_customer("c1")
    assert len(sleeps) == 1


def test_retries_are_logged_at_warning(
    client: PlumeClient, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock.get(URL).mock(side_effect=[plume_error(502), httpx.Response(200, json=CUSTOMER)])
    with caplog.at_level("DEBUG", logger="plume_provider"):
        client.get_customer("c1")
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "retry 1 of 3" in warnings[0].getMessage()
    debug = [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"]
    assert any(m.startswith("GET /api/Customers/c1 -> 200 in ") for m in debug)


def test_server_error_after_retries(client: PlumeClient, mock: respx.MockRouter) -> None:
    mock.get(URL).mock(return_value=plume_error(500, "boom"))
    with pytest.raises(ServerError) as info:
        client.get_customer("c1")
    assert info.value.api_message == "boom"


# -- the loop's contract for calls that must not be sent twice --------------------------------
# No client method is non-idempotent without a probe today (register has one), so these drive
# the loop itself, as a future non-idempotent call would.

POST_URL = f"{API}/Customers/register"


Outcome = Callable[[httpx.Request], httpx.Response | Exception]


def run_loop(
    outcomes: list[Outcome],
    *,
    sleeps: Sleeps,
    idempotent: bool,
    probe: Callable[[], object | None] | None = None,
    on_rate_limited: Callable[[float], None] | None = None,
    static_token: bool = False,
) -> tuple[int, object]:
    """Run the loop over `outcomes` (one per attempt); (attempts made, result or error)."""
    request = httpx.Request("POST", POST_URL)
    pending = list(outcomes)
    attempts = 0

    def send() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        outcome = pending.pop(0)(request)
        if isinstance(outcome, Exception):
            raise outcome
        outcome.request = request
        return outcome

    policy = _retry.RetryPolicy(
        max_retries=5,
        max_rate_limit_wait=60,
        sleep=sleeps,
        on_rate_limited=on_rate_limited,
        static_token=static_token,
    )
    context = OperationContext(Operation.REGISTER_CUSTOMER, "register customer accountId=A", {})
    try:
        result: object = _retry.send_with_retries(
            send, request, context=context, policy=policy, idempotent=idempotent, probe=probe
        )
    except PlumeError as err:
        result = err
    return attempts, result


def ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=CUSTOMER)


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(lambda r: httpx.ReadTimeout("lost", request=r), id="read-timeout"),
        pytest.param(lambda r: httpx.ReadTimeout("lost"), id="read-timeout-without-request"),
        pytest.param(lambda r: httpx.RemoteProtocolError("dropped", request=r), id="dropped"),
        pytest.param(lambda r: plume_error(502), id="502"),
        pytest.param(lambda r: plume_error(500), id="500"),
    ],
)
def test_non_idempotent_call_without_probe_is_sent_once_when_the_outcome_is_unknown(
    sleeps: Sleeps, lost: Callable[[httpx.Request], httpx.Response | Exception]
) -> None:
    attempts, result = run_loop([lost, ok], sleeps=sleeps, idempotent=False)
    assert attempts == 1, "resent although the first attempt may have taken effect"
    assert isinstance(result, TransportError | ServerError)
    assert sleeps == []


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(lambda r: httpx.ReadTimeout("lost", request=r), id="read-timeout"),
        pytest.param(lambda r: plume_error(502), id="502"),
    ],
)
def test_non_idempotent_call_with_probe_asks_before_resending(
    sleeps: Sleeps, lost: Callable[[httpx.Request], httpx.Response | Exception]
) -> None:
    asked: list[int] = []

    def probe() -> object | None:
        asked.append(1)
        return None

    attempts, result = run_loop([lost, ok], sleeps=sleeps, idempotent=False, probe=probe)
    assert attempts == 2
    assert asked == [1]
    assert isinstance(result, httpx.Response)
    assert result.status_code == 200


def test_non_idempotent_call_is_resent_when_it_never_left(sleeps: Sleeps) -> None:
    attempts, result = run_loop(
        [lambda r: httpx.ConnectError("refused", request=r), ok],
        sleeps=sleeps,
        idempotent=False,
    )
    assert attempts == 2
    assert isinstance(result, httpx.Response)


TOKEN_REQUEST = httpx.Request("POST", "https://login.plume.test/oauth2/token")


def token_lost(_request: httpx.Request) -> Exception:
    """The OAuth token request (not the API request) timed out: the API call never left."""
    return httpx.ReadTimeout("token endpoint slow", request=TOKEN_REQUEST)


def token_answered_503(_request: httpx.Request) -> Exception:
    """The token endpoint answered 503 on the way to the API call."""
    answer = httpx.Response(503, json={"error": {"statusCode": 503, "message": "down"}})
    answer.request = TOKEN_REQUEST
    return _auth.TokenEndpointAnswered(answer)


@pytest.mark.parametrize("failure", [token_lost, token_answered_503])
def test_a_token_failure_resends_a_non_idempotent_call_without_asking_the_probe(
    sleeps: Sleeps, failure: Outcome
) -> None:
    """Nothing reached Plume's API, so register is simply sent again: no search, no wait for
    an answer that cannot exist."""
    asked: list[int] = []

    def probe() -> object | None:
        asked.append(1)
        return None

    attempts, result = run_loop([failure, ok], sleeps=sleeps, idempotent=False, probe=probe)
    assert (attempts, asked) == (2, [])
    assert isinstance(result, httpx.Response)
    assert len(sleeps) == 1


def test_a_token_endpoint_that_stays_unreachable_is_named_in_the_error(sleeps: Sleeps) -> None:
    attempts, result = run_loop([token_lost] * 6, sleeps=sleeps, idempotent=True)
    assert attempts == 6
    assert isinstance(result, TransportError)
    assert "token endpoint https://login.plume.test/oauth2/token unreachable" in str(result)
    assert (result.method, result.path) == ("POST", "/oauth2/token")
    assert "PLUME_TOKEN_URL" in result.hint


def test_an_api_transport_failure_names_the_call(sleeps: Sleeps) -> None:
    lost: list[Outcome] = [lambda r: httpx.ReadTimeout("slow", request=r)] * 6
    attempts, result = run_loop(lost, sleeps=sleeps, idempotent=True)
    assert attempts == 6
    assert isinstance(result, TransportError)
    assert (result.method, result.path) == ("POST", "/api/Customers/register")
    assert "token endpoint" not in str(result)


def test_a_rate_limit_wait_is_reported_to_the_shared_budget_and_logged(
    sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    """The other processes of the budget hold back for the same wait (Retry-After: 3)."""
    blocked: list[float] = []
    with caplog.at_level("WARNING", logger="plume_provider"):
        attempts, result = run_loop(
            [lambda r: waf_block("3"), ok],
            sleeps=sleeps,
            idempotent=False,
            on_rate_limited=blocked.append,
        )
    assert attempts == 2
    assert isinstance(result, httpx.Response)
    assert blocked == [3.0]
    assert sleeps == [3.0]
    assert "rate limited (HTTP 403 on POST /api/Customers/register); waiting 3.0 s" in caplog.text


def test_a_token_endpoint_that_keeps_rate_limiting_is_named_when_the_wait_is_spent(
    sleeps: Sleeps,
) -> None:
    def token_blocked(_request: httpx.Request) -> Exception:
        answer = waf_block("30")
        answer.request = TOKEN_REQUEST
        return _auth.TokenEndpointAnswered(answer)

    attempts, result = run_loop([token_blocked] * 4, sleeps=sleeps, idempotent=False)
    assert isinstance(result, RateLimitedError)
    assert result.operation == Operation.FETCH_TOKEN
    assert result.path == "/oauth2/token"
    assert result.waited_seconds == sum(sleeps) == 60.0
    assert attempts == 3


def test_a_401_with_a_pre_issued_token_says_to_issue_a_new_one(sleeps: Sleeps) -> None:
    attempts, result = run_loop(
        [lambda r: plume_error(401)], sleeps=sleeps, idempotent=True, static_token=True
    )
    assert attempts == 1
    assert isinstance(result, AuthenticationError)
    assert result.hint == STATIC_TOKEN_HINT
