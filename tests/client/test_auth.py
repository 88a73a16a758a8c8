"""Token fetching, caching, sharing between clients and threads, refresh on 401."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client import _auth as auth_module
from plume_provider.client.errors import (
    AuthenticationError,
    ConfigurationError,
    ServerError,
    TransportError,
)
from plume_provider.client.settings import PlumeSettings

from .conftest import API, PARTNER, SECRET, TOKEN_URL, Sleeps, TokenEndpoint, jwt, plume_error

CUSTOMER = {"id": "c1", "accountId": "A"}


def first_then(
    first: httpx.Response, then: TokenEndpoint
) -> Callable[[httpx.Request], httpx.Response]:
    """Answer `first` once, then issue tokens."""
    pending = [first]

    def respond(request: httpx.Request) -> httpx.Response:
        return pending.pop() if pending else then(request)

    return respond


def test_token_request_shape(client: PlumeClient, mock: respx.MockRouter) -> None:
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    client.get_customer("c1")
    request = mock.routes["token"].calls.last.request
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Cache-Control"] == "no-cache"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "scope": [f"partnerId:{PARTNER} role:partnerIdAdmin"],
    }


def test_one_token_for_a_hundred_calls(
    client: PlumeClient, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    route = mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    for _ in range(100):
        client.get_customer("c1")
    assert route.call_count == 100
    assert len(token_endpoint.issued) == 1
    assert {c.request.headers["Authorization"] for c in route.calls} == {
        f"Bearer {token_endpoint.issued[0]}"
    }


def test_token_shared_by_clients_with_same_credentials(
    settings: PlumeSettings, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    for _ in range(3):
        with PlumeClient(settings) as c:
            c.get_customer("c1")
    assert len(token_endpoint.issued) == 1
    other = settings.model_copy(update={"partner_id": "other-partner"})
    with PlumeClient(other) as c:
        c.get_customer("c1")
    assert len(token_endpoint.issued) == 2


def test_401_refreshes_once_and_resends_once(
    client: PlumeClient, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    route = mock.get(f"{API}/Customers/c1").mock(
        side_effect=[plume_error(401), httpx.Response(200, json=CUSTOMER)]
    )
    assert client.get_customer("c1").id == "c1"
    assert len(token_endpoint.issued) == 2
    assert route.call_count == 2
    sent = [c.request.headers["Authorization"] for c in route.calls]
    assert sent == [f"Bearer {t}" for t in token_endpoint.issued]


def test_persistent_401_is_an_authentication_error(
    client: PlumeClient, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    route = mock.get(f"{API}/Customers/c1").mock(return_value=plume_error(401))
    with pytest.raises(AuthenticationError):
        client.get_customer("c1")
    assert route.call_count == 2
    assert len(token_endpoint.issued) == 2


def test_eight_threads_fetch_exactly_one_token(
    settings: PlumeSettings, mock: respx.MockRouter
) -> None:
    issued: list[str] = []
    gate = threading.Event()

    def slow_token(request: httpx.Request) -> httpx.Response:
        gate.wait(1)
        time.sleep(0.05)
        issued.append("t")
        return httpx.Response(200, json={"access_token": f"tok-{len(issued)}", "expires_in": 600})

    mock.routes["token"].mock(side_effect=slow_token)
    route = mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    clients = [PlumeClient(settings) for _ in range(8)]
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work(c: PlumeClient) -> None:
        start.wait()
        gate.set()
        try:
            c.get_customer("c1")
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not failures
    assert issued == ["t"]
    assert route.call_count == 8
    for c in clients:
        c.close()


def test_token_refreshed_30s_before_expiry(
    client: PlumeClient,
    mock: respx.MockRouter,
    token_endpoint: TokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(auth_module, "monotonic", lambda: now[0])
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    client.get_customer("c1")
    now[0] += 600 - 31
    client.get_customer("c1")
    assert len(token_endpoint.issued) == 1
    now[0] += 2
    client.get_customer("c1")
    assert len(token_endpoint.issued) == 2


def test_jwt_exp_shortens_the_cache(
    client: PlumeClient, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    monkeypatch.setattr(auth_module, "monotonic", lambda: now[0])
    monkeypatch.setattr(auth_module, "wall_clock", lambda: 50_000.0)
    tokens = iter([jwt(50_000 + 120, "a"), jwt(50_000 + 120, "b")])
    mock.routes["token"].mock(
        side_effect=lambda r: httpx.Response(
            200, json={"access_token": next(tokens), "expires_in": 86_400}
        )
    )
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    client.get_customer("c1")
    now[0] = 89.0
    client.get_customer("c1")
    assert mock.routes["token"].call_count == 1
    now[0] = 91.0
    client.get_customer("c1")
    assert mock.routes["token"].call_count == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, "invalid_client", id="invalid_client"),
        pytest.param(400, "invalid_scope", id="invalid_scope"),
        pytest.param(400, "unsupported_grant_type", id="unsupported_grant_type"),
        pytest.param(400, "invalid_request", id="invalid_request"),
    ],
)
def test_token_endpoint_refusal(
    client: PlumeClient, mock: respx.MockRouter, status: int, error: str
) -> None:
    mock.routes["token"].mock(
        return_value=httpx.Response(
            status, json={"error": error, "error_description": "The client is not valid."}
        )
    )
    api = mock.get(f"{API}/Customers/c1")
    with pytest.raises(AuthenticationError) as info:
        client.get_customer("c1")
    err = info.value
    assert err.hint == (
        "credentials rejected: check PLUME_AUTH_HEADER (or PLUME_CLIENT_ID/PLUME_CLIENT_SECRET) "
        "and the partnerId scope"
    )
    assert str(err).startswith(f"get customer c1 failed: token endpoint {TOKEN_URL} rejected")
    assert error in err.api_message
    assert err.path == httpx.URL(TOKEN_URL).path
    assert api.call_count == 0


def test_token_endpoint_unreachable_is_retried_even_for_register(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    mock.routes["token"].mock(side_effect=httpx.ReadTimeout("slow"))
    register = mock.post(f"{API}/Customers/register")
    from plume_provider.client.models import CustomerRegistration

    with pytest.raises(TransportError):
        client.register_customer(CustomerRegistration(account_id="A", partner_id=PARTNER))
    assert register.call_count == 0
    assert mock.routes["token"].call_count == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    ("answer", "retry_after"),
    [
        pytest.param(httpx.Response(502, text="Bad Gateway"), None, id="502"),
        pytest.param(
            httpx.Response(503, json={"error": "temporarily_unavailable"}), None, id="503"
        ),
        pytest.param(
            httpx.Response(503, headers={"Retry-After": "7"}, text="busy"),
            7.0,
            id="503-retry-after",
        ),
        pytest.param(httpx.Response(429, headers={"Retry-After": "3"}), 3.0, id="429"),
        pytest.param(
            httpx.Response(
                403,
                json={"error": {"name": "RequestBlocked", "message": "blocked"}},
                headers={"Retry-After": "4"},
            ),
            4.0,
            id="waf-403",
        ),
    ],
)
def test_token_endpoint_transient_failure_is_retried_then_the_call_succeeds(
    client: PlumeClient,
    mock: respx.MockRouter,
    token_endpoint: TokenEndpoint,
    sleeps: Sleeps,
    answer: httpx.Response,
    retry_after: float | None,
) -> None:
    mock.routes["token"].mock(side_effect=first_then(answer, token_endpoint))
    api = mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    assert client.get_customer("c1").id == "c1"
    assert mock.routes["token"].call_count == 2
    assert api.call_count == 1
    assert len(sleeps) == 1
    if retry_after is not None:
        assert sleeps == [retry_after]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(429, headers={"Retry-After": "2"}), id="429"),
        pytest.param(httpx.Response(503), id="503"),
    ],
)
def test_token_endpoint_retries_are_logged_naming_the_token_endpoint(
    client: PlumeClient,
    mock: respx.MockRouter,
    token_endpoint: TokenEndpoint,
    caplog: pytest.LogCaptureFixture,
    answer: httpx.Response,
) -> None:
    mock.routes["token"].mock(side_effect=first_then(answer, token_endpoint))
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    with caplog.at_level(logging.WARNING, logger="plume_provider"):
        client.get_customer("c1")
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"POST {httpx.URL(TOKEN_URL).path}" in line
    assert "[REDACTED]" not in line


def test_register_after_a_token_endpoint_503_is_sent_once_without_probing(
    client: PlumeClient, mock: respx.MockRouter, token_endpoint: TokenEndpoint
) -> None:
    from plume_provider.client.models import CustomerRegistration

    mock.routes["token"].mock(side_effect=first_then(httpx.Response(503), token_endpoint))
    register = mock.post(f"{API}/Customers/register").mock(
        return_value=httpx.Response(200, json={**CUSTOMER, "locationId": "l1"})
    )
    search = mock.get(url__startswith=f"{API}/Partners/customers/search/")
    customer = client.register_customer(CustomerRegistration(account_id="A", partner_id=PARTNER))
    assert customer.id == "c1"
    assert register.call_count == 1
    assert search.call_count == 0


def test_token_endpoint_persistent_5xx_names_the_token_url_not_the_credentials(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    mock.routes["token"].mock(return_value=httpx.Response(503, text="down"))
    claim = mock.post(f"{API}/Customers/c/locations/l/nodes")
    lookup = mock.get(f"{API}/Partners/nodes/S1")
    with pytest.raises(ServerError) as info:
        client.claim_node("c", "l", "S1")
    err = info.value
    assert str(err).startswith(f"claim node S1 failed: token endpoint {TOKEN_URL} answered 503")
    assert "PLUME_AUTH_HEADER" not in str(err)
    assert err.operation == "fetch_token"
    assert err.path == httpx.URL(TOKEN_URL).path
    assert mock.routes["token"].call_count == 4
    assert len(sleeps) == 3
    assert (claim.call_count, lookup.call_count) == (0, 0)


def test_token_url_answering_404_says_check_plume_token_url(
    client: PlumeClient, mock: respx.MockRouter
) -> None:
    mock.routes["token"].mock(return_value=httpx.Response(404, text="Not Found"))
    with pytest.raises(AuthenticationError) as info:
        client.get_customer("c1")
    text = str(info.value)
    assert f"token endpoint {TOKEN_URL} answered 404: check PLUME_TOKEN_URL" in text
    assert "PLUME_TOKEN_URL (plume:tokenUrl)" in info.value.hint
    assert "rejected" not in text
    assert "PLUME_AUTH_HEADER" not in text
    assert mock.routes["token"].call_count == 1


def test_dead_token_url_is_reported_as_the_token_endpoint_unreachable(
    client: PlumeClient, mock: respx.MockRouter, sleeps: Sleeps
) -> None:
    mock.routes["token"].mock(side_effect=httpx.ConnectError("connection refused"))
    api = mock.get(f"{API}/Customers/c1")
    with pytest.raises(TransportError) as info:
        client.get_customer("c1")
    err = info.value
    assert str(err).startswith(f"get customer c1 failed: token endpoint {TOKEN_URL} unreachable")
    assert (err.method, err.path) == ("POST", httpx.URL(TOKEN_URL).path)
    assert "PLUME_TOKEN_URL" in err.hint
    assert "/api/" not in str(err)
    assert api.call_count == 0
    assert len(sleeps) == 3


def test_static_token_sent_as_is(mock: respx.MockRouter, sleeps: Sleeps) -> None:
    settings = PlumeSettings(api_url=API, token="raw-login-token-123", requests_per_second=0)
    route = mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    with PlumeClient(settings, sleep=sleeps) as c:
        c.get_customer("c1")
    assert route.calls.last.request.headers["Authorization"] == "raw-login-token-123"
    assert mock.routes["token"].call_count == 0


def test_static_token_401_names_the_token(mock: respx.MockRouter) -> None:
    settings = PlumeSettings(api_url=API, token="Bearer old-token-xyz", requests_per_second=0)
    route = mock.get(f"{API}/Customers/c1").mock(return_value=plume_error(401))
    with PlumeClient(settings) as c, pytest.raises(AuthenticationError) as info:
        c.get_customer("c1")
    assert "PLUME_TOKEN" in info.value.hint
    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == "Bearer old-token-xyz"


def test_auth_header_used_verbatim(mock: respx.MockRouter) -> None:
    settings = PlumeSettings(
        api_url=API,
        token_url=TOKEN_URL,
        auth_header="Basic bGFiLWNsaWVudDpsYWItc2VjcmV0",
        partner_id=PARTNER,
        requests_per_second=0,
    )
    mock.get(f"{API}/Customers/c1").mock(return_value=httpx.Response(200, json=CUSTOMER))
    with PlumeClient(settings) as c:
        c.get_customer("c1")
    sent = mock.routes["token"].calls.last.request.headers["Authorization"]
    assert sent == "Basic bGFiLWNsaWVudDpsYWItc2VjcmV0"


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        pytest.param({}, "PLUME_AUTH_HEADER", id="no-credentials"),
        pytest.param({"client_id": "x"}, "together", id="id-without-secret"),
        pytest.param(
            {"client_id": "x", "client_secret": SECRET}, "PLUME_PARTNER_ID", id="no-partner"
        ),
    ],
)
def test_configuration_errors(values: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        PlumeClient(PlumeSettings.from_values(**values))
    assert needle in str(info.value)
    assert SECRET not in str(info.value)
    if needle == "PLUME_PARTNER_ID":
        assert "plume:partnerId" in str(info.value)
