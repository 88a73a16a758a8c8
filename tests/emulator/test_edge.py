"""The WAF, injected faults, latency, and the stats/state control documents."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from plume_emulator.options import ManualClock
from plume_emulator.testing import EmulatorServer
from tests.conftest import EmulatorFactory
from tests.emulator.helpers import HTTP, Api, assert_error

NODES = "/api/Customers/{customerId}/locations/{locationId}/nodes"


def claimed_serials(server: EmulatorServer) -> list[str]:
    return [n["serialNumber"] for n in server.state()["partners"]["lab-partner"]["claimed_nodes"]]


# ------------------------------------------------------------------ WAF
def test_waf_blocks_past_the_limit_with_retry_after(emulator_factory: EmulatorFactory) -> None:
    clock = ManualClock()
    server = emulator_factory(waf_limit=3, waf_window=60, clock=clock)
    view = Api(server)  # the token request is the first of three
    try:
        url = "/Partners/nodes/LAB-GW-0001"
        assert view.request("GET", url).status_code == 200
        assert view.request("GET", url).status_code == 200
        blocked = view.request("GET", url)
        error = assert_error(blocked, 403)
        assert error["name"] == "RequestBlocked"
        assert blocked.headers["Retry-After"] == "60"
        token = HTTP.post(server.token_url, data={"grant_type": "client_credentials"})
        assert token.status_code == 403, "the token endpoint sits behind the WAF too"
        assert server.stats()["requests"], "control routes are never blocked"
        clock.advance(45)
        assert view.request("GET", url).headers["Retry-After"] == "15"
        clock.advance(15)
        assert view.request("GET", url).status_code == 200
    finally:
        view.close()


def test_waf_zero_disables(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(waf_limit=0)
    view = Api(server)
    try:
        statuses = {
            view.request("GET", "/Partners/nodes/LAB-GW-0001").status_code for _ in range(30)
        }
        assert statuses == {200}
    finally:
        view.close()


def test_waf_blocks_count_in_stats(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(waf_limit=1, clock=ManualClock())
    HTTP.get(f"{server.api_url}/Partners/nodes/X")
    HTTP.get(f"{server.api_url}/Partners/nodes/X")
    rows = server.stats()["requests"]
    assert {
        "method": "GET",
        "route": "/api/Partners/nodes/{serialNumber}",
        "status": 403,
        "count": 1,
    } in rows


# ------------------------------------------------------------------ latency
def test_latency_is_added_to_api_calls_only(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(latency_ms=80)
    view = Api(server)
    try:
        start = time.perf_counter()
        view.request("GET", "/Partners/nodes/LAB-GW-0001")
        assert time.perf_counter() - start >= 0.08
        start = time.perf_counter()
        server.stats()
        assert time.perf_counter() - start < 0.08
    finally:
        view.close()


# ------------------------------------------------------------------ faults
def test_fault_without_apply_changes_nothing(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    emulator.set_faults([{"method": "POST", "path": NODES, "status": 500, "times": 1}])
    response = api.claim(customer, "LAB-GW-0001")
    assert_error(response, 500, "fault injected")
    assert claimed_serials(emulator) == []
    assert api.claim(customer, "LAB-GW-0001").status_code == 200, "times=1 is used up"


def test_fault_with_apply_performs_then_fails(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    emulator.set_faults(
        [{"method": "POST", "path": NODES, "status": 503, "times": 1, "apply": True}]
    )
    assert_error(api.claim(customer, "LAB-GW-0001"), 503)
    assert claimed_serials(emulator) == ["LAB-GW-0001"]


@pytest.mark.parametrize(
    ("apply", "claimed"),
    [pytest.param(True, ["LAB-GW-0001"], id="apply"), pytest.param(False, [], id="no-apply")],
)
def test_drop_cuts_the_connection(
    api: Api, emulator: EmulatorServer, apply: bool, claimed: list[str]
) -> None:
    customer = api.customer()
    emulator.set_faults(
        [{"method": "POST", "path": NODES, "drop": True, "apply": apply, "times": 1}]
    )
    # A cut connection reads as "closed without a response" or as a reset, by timing.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.claim(customer, "LAB-GW-0001")
    assert claimed_serials(emulator) == claimed
    assert api.request("GET", "/Partners/nodes/LAB-GW-0001").status_code == 200, (
        "server still serves"
    )


def test_delay_after_apply_loses_the_response(api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer()
    emulator.set_faults(
        [{"method": "POST", "path": NODES, "delay_ms": 1500, "apply": True, "times": 1}]
    )
    with pytest.raises(httpx.ReadTimeout):
        api.http.post(api.nodes_path(customer), json={"serialNumber": "LAB-GW-0001"}, timeout=0.3)
    assert claimed_serials(emulator) == ["LAB-GW-0001"]


def test_delay_only_rule_answers_normally_late(api: Api, emulator: EmulatorServer) -> None:
    emulator.set_faults([{"path": "/api/Partners/nodes/*", "delay_ms": 150}])
    start = time.perf_counter()
    response = api.request("GET", "/Partners/nodes/LAB-GW-0001")
    assert response.status_code == 200
    assert time.perf_counter() - start >= 0.15


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_delay_only_rule_performs_the_operation_after_the_client_gave_up(
    api: Api, emulator: EmulatorServer, method: str
) -> None:
    # A request that has arrived whole is performed, however long it is held: the late claim
    # or unclaim of a client that timed out (and retries) is what the soak's delays stand for.
    customer = api.customer()
    if method == "DELETE":
        api.claim(customer, "LAB-GW-0001")
    emulator.set_faults([{"method": method, "path": NODES + "*", "delay_ms": 400}])
    path = api.nodes_path(customer)
    body: dict[str, str] | None = {"serialNumber": "LAB-GW-0001"}
    if method == "DELETE":
        path, body = f"{path}/LAB-GW-0001", None
    with pytest.raises(httpx.ReadTimeout):
        api.http.request(method, path, json=body, timeout=0.1)
    before, wanted = ([], ["LAB-GW-0001"]) if method == "POST" else (["LAB-GW-0001"], [])
    assert claimed_serials(emulator) == before
    deadline = time.monotonic() + 10
    while claimed_serials(emulator) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert claimed_serials(emulator) == wanted


def test_times_counts_down_and_is_listed(api: Api, emulator: EmulatorServer) -> None:
    emulator.set_faults(
        [{"method": "GET", "path": "/api/Partners/nodes/{serialNumber}", "status": 502, "times": 2}]
    )
    statuses = [api.request("GET", "/Partners/nodes/LAB-GW-0001").status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    [rule] = emulator.http.get("/_emulator/faults").json()["rules"]
    assert (rule["remaining"], rule["fired"]) == (0, 2)


@pytest.mark.parametrize(
    ("probability", "expect"),
    [
        pytest.param(0.0, "none", id="never"),
        pytest.param(1.0, "all", id="always"),
        pytest.param(0.5, "some", id="half"),
    ],
)
def test_probability(emulator_factory: EmulatorFactory, probability: float, expect: str) -> None:
    server = emulator_factory(fault_seed=7, waf_limit=0)
    view = Api(server)
    try:
        server.set_faults(
            [{"path": "/api/Partners/nodes/*", "status": 500, "probability": probability}]
        )
        statuses = [
            view.request("GET", "/Partners/nodes/LAB-GW-0001").status_code for _ in range(40)
        ]
        faulted = statuses.count(500)
        assert {"none": faulted == 0, "all": faulted == 40, "some": 5 < faulted < 35}[expect], (
            faulted
        )
        assert server.stats()["faults_injected"] == faulted
    finally:
        view.close()


def test_method_filter_and_glob(api: Api, emulator: EmulatorServer) -> None:
    emulator.set_faults([{"method": "DELETE", "path": "/api/Customers/*", "status": 500}])
    customer = api.customer()
    assert api.request("GET", f"/Customers/{customer.id}").status_code == 200
    assert_error(api.request("DELETE", f"/Customers/{customer.id}"), 500)


def test_control_routes_are_never_faulted(emulator: EmulatorServer) -> None:
    emulator.set_faults([{"path": "*", "status": 500}])
    assert emulator.http.get("/_emulator/health").status_code == 200
    emulator.clear_faults()
    assert emulator.http.get("/_emulator/faults").json() == {"rules": []}


def test_token_endpoint_fault_uses_okta_body(emulator: EmulatorServer) -> None:
    emulator.set_faults(
        [
            {
                "method": "POST",
                "path": "/oauth2/token",
                "status": 503,
                "times": 1,
                "headers": {"Retry-After": "2"},
            }
        ]
    )
    response = HTTP.post(emulator.token_url, data={"grant_type": "client_credentials"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert set(response.json()) == {"error", "error_description"}


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param([{"path": "/x", "status": 42}], id="bad-status"),
        pytest.param([{"status": 500}], id="missing-path"),
        pytest.param([{"path": "/x", "probability": 2}], id="bad-probability"),
        pytest.param([{"path": "/x", "when": "now"}], id="unknown-field"),
    ],
)
def test_invalid_fault_rules_are_422(emulator: EmulatorServer, rules: list[dict[str, Any]]) -> None:
    assert_error(emulator.http.post("/_emulator/faults", json={"rules": rules}), 422)


NODE_LOOKUP = "/api/Partners/nodes/{serialNumber}"


def fault(**fields: Any) -> dict[str, Any]:
    return {"method": "GET", "path": NODE_LOOKUP, "status": 503, **fields}


@pytest.mark.parametrize(
    ("rule", "mentions"),
    [
        pytest.param(fault(headers={"X-Why": "\u20ac5"}), ["X-Why", "latin-1"], id="non-latin1"),
        pytest.param(
            fault(headers={"X-Why": "a\r\nX-Injected: 1"}), ["X-Why", "control"], id="crlf"
        ),
        pytest.param(fault(headers={"X-Why": "a\nb"}), ["X-Why", "control"], id="lf"),
        pytest.param(fault(headers={"X-Why": "a\x00b"}), ["X-Why", "control"], id="nul"),
        pytest.param(fault(headers={"X-Why": " padded"}), ["whitespace"], id="leading-space"),
        pytest.param(fault(headers={"Bad Name": "x"}), ["'Bad Name'", "header name"], id="space"),
        pytest.param(fault(headers={"": "x"}), ["''", "header name"], id="empty-name"),
        pytest.param(fault(headers={"X-\u00e9": "x"}), ["header name"], id="non-ascii-name"),
        pytest.param(fault(headers={"Content-Length": "3"}), ["Content-Length"], id="length"),
        pytest.param(fault(headers={"content-length": "0"}), ["content-length"], id="length-lc"),
        pytest.param(
            fault(headers={"Transfer-Encoding": "chunked"}), ["Transfer-Encoding"], id="te"
        ),
        pytest.param(fault(headers={"Connection": "close"}), ["hop-by-hop"], id="connection"),
        pytest.param(fault(headers={"Keep-Alive": "timeout=1"}), ["hop-by-hop"], id="keep-alive"),
        pytest.param(fault(headers={"Upgrade": "h2c"}), ["hop-by-hop"], id="upgrade"),
        pytest.param(fault(status=100), ["status"], id="status-100"),
        pytest.param(fault(status=199), ["status"], id="status-199"),
        pytest.param(fault(status=600), ["status"], id="status-600"),
        pytest.param(fault(status=204, drop=True), ["drop", "204"], id="drop-204"),
    ],
)
def test_fault_rule_that_cannot_be_served_is_422_and_keeps_the_old_rules(
    emulator: EmulatorServer, rule: dict[str, Any], mentions: list[str]
) -> None:
    emulator.set_faults([fault(times=1)])
    response = emulator.http.post("/_emulator/faults", json={"rules": [rule]})
    error = assert_error(response, 422, *mentions)
    assert "rules.0" in error["message"]
    [kept] = emulator.http.get("/_emulator/faults").json()["rules"]
    assert (kept["status"], kept["times"], kept["headers"]) == (503, 1, {})


def test_fault_rule_problems_are_all_named_with_their_rule(emulator: EmulatorServer) -> None:
    rules = [
        fault(headers={"Retry-After": "1"}),
        fault(headers={"Content-Length": "3", "X-A": "\u20ac"}),
        fault(status=304, drop=True),
    ]
    response = emulator.http.post("/_emulator/faults", json={"rules": rules})
    message = assert_error(response, 422)["message"]
    assert "rules.0" not in message
    assert "rules.1.headers: Content-Length" in message
    assert "rules.1.headers.X-A: the value" in message
    assert "rules.2: drop with status 304" in message


def test_fault_rule_with_latin1_header_value_is_served_as_set(
    api: Api, emulator: EmulatorServer
) -> None:
    emulator.set_faults([fault(headers={"Retry-After": "2", "X-Why": "d\u00e9j\u00e0\tvu"})])
    response = api.request("GET", "/Partners/nodes/LAB-GW-0001")
    assert_error(response, 503, "fault injected")
    assert response.headers["Retry-After"] == "2"
    assert response.headers.raw[-1] == (b"x-why", "d\u00e9j\u00e0\tvu".encode("latin-1"))


@pytest.mark.parametrize("status", [200, 204, 304, 599])
def test_fault_status_answers_and_the_connection_serves_the_next_request(
    emulator: EmulatorServer, status: int
) -> None:
    emulator.set_faults([fault(status=status, times=1)])
    token = Api(emulator)
    try:
        with httpx.Client(
            base_url=emulator.api_url, headers={"Authorization": f"Bearer {token.token}"}
        ) as client:
            faulted = client.get("/Partners/nodes/LAB-GW-0001")
            assert faulted.status_code == status
            if status in (204, 304):
                assert faulted.content == b""
            after = client.get("/Partners/nodes/LAB-GW-0001")  # same keep-alive connection
            assert after.status_code == 200
            assert after.json()["serialNumber"] == "LAB-GW-0001"
    finally:
        token.close()


# ------------------------------------------------------------------ stats and state
def test_stats_count_by_route_template(api: Api, emulator: EmulatorServer) -> None:
    emulator.reset_stats()
    customer = api.customer()
    api.claim(customer, "LAB-GW-0001")
    api.claim(customer, "NOPE")
    emulator.set_faults([{"method": "POST", "path": NODES, "status": 503, "times": 1}])
    api.claim(customer, "LAB-GW-0002")
    stats = emulator.stats()
    assert set(stats) == {
        "requests",
        "tokens_issued",
        "faults_injected",
        "in_flight_peak",
        "busy_seconds",
    }
    assert stats["in_flight_peak"] == 1  # one request at a time
    assert stats["busy_seconds"] > 0
    rows = {(r["method"], r["route"], r["status"]): r["count"] for r in stats["requests"]}
    assert rows == {
        ("POST", "/api/Customers/register", 200): 1,
        ("POST", NODES, 200): 1,
        ("POST", NODES, 404): 1,
        ("POST", NODES, 503): 1,
    }
    assert stats["faults_injected"] == 1
    emulator.reset_stats()
    assert emulator.stats() == {
        "requests": [],
        "tokens_issued": 0,
        "faults_injected": 0,
        "in_flight_peak": 0,
        "busy_seconds": 0.0,
    }


def test_stats_measure_requests_in_flight_at_once(emulator_factory: EmulatorFactory) -> None:
    """The peak and the busy seconds of concurrent requests (what the benchmark matches the
    baseline's concurrency to)."""
    slow = emulator_factory(latency_ms=200)
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda _: http.get(f"{slow.api_url}/Customers/x"), range(3)))
    stats = slow.stats()
    assert stats["in_flight_peak"] == 3
    assert 0.55 <= stats["busy_seconds"] < 3.0


def test_stats_count_tokens(emulator: EmulatorServer) -> None:
    Api(emulator).close()
    stats = emulator.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"] == [
        {"method": "POST", "route": "/oauth2/token", "status": 200, "count": 1}
    ]


def test_state_shape(api: Api, other_api: Api, emulator: EmulatorServer) -> None:
    customer = api.customer(accountId="S-1", name="Sam", email="sam@example.org")
    api.claim(customer, "LAB-PK05-1")
    state = emulator.state()
    assert set(state["partners"]) == {"lab-partner", "other-partner", "locked-partner"}
    lab = state["partners"]["lab-partner"]
    assert lab["licenses_in_use"] == 3
    assert lab["customers"] == [
        {
            "id": customer.id,
            "accountId": "S-1",
            "name": "Sam",
            "email": "sam@example.org",
            "locations": [
                {
                    "id": customer.location_id,
                    "numPodsAuthorized": 32,
                    "nodes": ["LAB-PK05-1", "LAB-PK05-2", "LAB-PK05-3"],
                }
            ],
        }
    ]
    assert lab["claimed_nodes"][0] == {
        "serialNumber": "LAB-PK05-1",
        "customerId": customer.id,
        "locationId": customer.location_id,
    }
    assert state["partners"]["other-partner"] == {
        "customers": [],
        "claimed_nodes": [],
        "licenses_in_use": 0,
    }


def test_reset_restores_seed(api: Api, emulator: EmulatorServer) -> None:
    api.claim(api.customer(), "LAB-GW-0001")
    emulator.set_faults([{"path": "/nowhere", "status": 500}])
    emulator.reset()
    assert emulator.state()["partners"]["lab-partner"] == {
        "customers": [],
        "claimed_nodes": [],
        "licenses_in_use": 0,
    }
    assert emulator.http.get("/_emulator/faults").json() == {"rules": []}
    assert api.request("GET", "/Partners/nodes/LAB-GW-0001").status_code == 200, (
        "tokens survive a reset"
    )
