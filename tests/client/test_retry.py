"""The retry loop: backoff with jitter, what is retried, WAF/429 waits and their cap."""

from __future__ import annotations

import httpx
import pytest
import respx

from plume_provider import _retry
from plume_provider.client import PlumeClient
from plume_provider.errors import (
    ApiError,
    ConflictError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from plume_provider.settings import PlumeSettings

from .conftest import API, Sleeps, plume_error

CUSTOMER = {"id": "c1", "accountId": "A"}
URL = f"{API}/Customers/c1"


def waf_block(retry_after: str | None = "7") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"statusCode": 403, "name": "RequestBlocked", "message": "Request blocked"}}
    return httpx.Response(403, json=body, headers=headers)


def test_backoff_grows_within_jitter_bounds() -> None:
    for index in range(8):
        base = min(_retry.INITIAL_RETRY_DELAY * 2**index, _retry.MAX_RETRY_DELAY)
        assert _retry.backoff_delay(index, lambda: 0.0) == base
        assert _retry.backoff_delay(index, lambda: 1.0) == base * (1 - _retry.JITTER_FRACTION)
        for _ in range(20):
            delay = _retry.backoff_delay(index)
            assert base * (1 - _retry.JITTER_FRACTION) <= delay <= base


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
    for index, delay in enumerate(sleeps):
        base = _retry.INITIAL_RETRY_DELAY * 2**index
        assert base * (1 - _retry.JITTER_FRACTION) <= delay <= base
    assert sleeps[2] > sleeps[0]


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


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_client_errors_are_not_retried(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps, status: int
) -> None:
    route = mock.patch(URL).mock(return_value=plume_error(status))
    from plume_provider.models import CustomerUpdate

    with pytest.raises(ApiError):
        client.update_customer("c1", CustomerUpdate(name="x"))
    assert route.call_count == 1
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
    assert len(sleeps) == 1
    assert _retry.RATE_LIMIT_MIN_WAIT <= sleeps[0] <= _retry.INITIAL_RETRY_DELAY * 4


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
    from plume_provider.models import CustomerRegistration

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
