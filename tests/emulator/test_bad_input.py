"""Hostile or broken requests: a clear 4xx with the Plume error body, never a state change."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from plume_emulator.testing import EmulatorServer
from tests.emulator.helpers import HTTP, Api, assert_error


def test_malformed_json_is_400(api: Api, emulator: EmulatorServer) -> None:
    before = emulator.state()
    response = api.request(
        "POST",
        "/Customers/register",
        content=b'{"accountId": "A",',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "JSON")
    assert emulator.state() == before


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        pytest.param("text/plain", b'{"accountId":"A","partnerId":"lab-partner"}', id="text-plain"),
        pytest.param(
            "application/x-www-form-urlencoded", b"accountId=A&partnerId=lab-partner", id="form"
        ),
        pytest.param(None, b'{"accountId":"A","partnerId":"lab-partner"}', id="no-content-type"),
    ],
)
def test_wrong_content_type_is_415(
    api: Api, emulator: EmulatorServer, content_type: str | None, content: bytes
) -> None:
    before = emulator.state()
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.request("POST", "/Customers/register", content=content, headers=headers)
    assert_error(response, 415, "application/json")
    assert emulator.state() == before


def test_content_type_is_case_insensitive(api: Api) -> None:
    response = api.request(
        "POST",
        "/Customers/register",
        content=b'{"accountId":"CI-1","partnerId":"lab-partner"}',
        headers={"Content-Type": "application/JSON; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "status"),
    [
        pytest.param(b'{"accountId": "\xff\xfe", "partnerId": "lab-partner"}', 400, id="non-utf8"),
        pytest.param(b"", 400, id="empty"),
        pytest.param(b"[1, 2]", 422, id="array"),
        pytest.param(b'"just a string"', 422, id="string"),
        pytest.param(b'{"accountId": NaN, "partnerId": "lab-partner"}', 400, id="nan"),
    ],
)
def test_unusable_bodies(api: Api, emulator: EmulatorServer, content: bytes, status: int) -> None:
    before = emulator.state()
    response = api.request(
        "POST", "/Customers/register", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, status)
    assert emulator.state() == before


def test_oversize_body_is_413(api: Api, emulator: EmulatorServer) -> None:
    before = emulator.state()
    body = b'{"accountId": "' + b"A" * (70 * 1024) + b'", "partnerId": "lab-partner"}'
    response = api.request(
        "POST", "/Customers/register", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "bytes")
    assert emulator.state() == before


def test_oversize_chunked_body_is_413(api: Api, emulator: EmulatorServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"accountId": "'
        for _ in range(20):
            yield b"A" * 4096
        yield b'", "partnerId": "lab-partner"}'

    before = emulator.state()
    response = api.request(
        "POST",
        "/Customers/register",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413)
    assert emulator.state() == before


@pytest.mark.parametrize(
    "suffix",
    [
        pytest.param("/LAB%2FGW-0001", id="encoded-slash"),
        pytest.param("/LAB%2fGW-0001", id="encoded-slash-lowercase"),
        pytest.param("/%2E%2E", id="encoded-dot-dot"),
        pytest.param("/LAB%FF", id="non-utf8"),
        pytest.param("/LAB%00GW", id="nul-byte"),
        pytest.param("/LAB%5CGW", id="backslash"),
    ],
)
def test_hostile_path_segments_are_400(api: Api, emulator: EmulatorServer, suffix: str) -> None:
    customer = api.customer()
    api.claim(customer, "LAB-GW-0001")
    before = emulator.state()
    url = (
        f"{emulator.api_url}/Customers/{customer.id}/locations/{customer.location_id}/nodes{suffix}"
    )
    response = api.http.delete(url)
    assert_error(response, 400)
    assert emulator.state() == before


def test_literal_dot_dot_path_is_400(emulator: EmulatorServer) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"GET /api/Partners/nodes/../nodes/LAB-GW-0001 HTTP/1.1\r\n"
            b"Host: x\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400"), data[:100]
    assert b'"statusCode":400' in data


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/api/NoSuchThing", 404, id="unknown-route"),
        pytest.param("POST", "/api/Partners/nodes/LAB-GW-0001", 405, id="wrong-method"),
        pytest.param("PUT", "/oauth2/token", 405, id="wrong-method-token"),
    ],
)
def test_unknown_routes_use_error_body(
    api: Api, emulator: EmulatorServer, method: str, path: str, status: int
) -> None:
    response = api.http.request(method, emulator.url + path)
    assert_error(response, status)


def test_unknown_query_values_do_not_500(api: Api) -> None:
    response = api.request(
        "GET",
        "/Partners/customers/search/x",
        params={"field": "\u00ff" * 3, "exactMatch": "\u2603"},
    )
    assert_error(response, 422)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer \u00ff\u00fe.\u00ff.\u00ff"}, id="latin1-token"),
        pytest.param({"Authorization": "Bearer " + "a" * 5000}, id="huge-token"),
        pytest.param({"Authorization": "Bearer ..."}, id="empty-parts"),
        pytest.param({"Authorization": "Bearer eyJ.eyJ.sig"}, id="truncated-b64"),
    ],
)
def test_garbage_tokens_are_401(emulator: EmulatorServer, headers: dict[str, Any]) -> None:
    encoded = {k: v.encode("latin-1") for k, v in headers.items()}
    response = HTTP.get(f"{emulator.api_url}/Partners/nodes/LAB-GW-0001", headers=encoded)
    assert_error(response, 401)


# ------------------------------------------------------------------ JSON nesting depth
JSON_ROUTES = [
    ("POST", "/api/Customers/register"),
    ("PATCH", "/api/Customers/{customerId}"),
    ("POST", "/api/Customers/{customerId}/locations/{locationId}/onboardingCheckpoint"),
    ("POST", "/api/Customers/{customerId}/locations/{locationId}/nodes"),
    ("PUT", "/api/Customers/{customerId}/locations/{locationId}/nodes/{nodeId}"),
    ("POST", "/_emulator/faults"),
    ("POST", "/_emulator/tokens"),
]


def nested(depth: int) -> bytes:
    """A register body whose ``name`` holds ``depth - 1`` arrays inside each other (``depth``
    levels in all)."""
    arrays = b"[" * (depth - 1) + b"]" * (depth - 1)
    return b'{"accountId": "DEEP-1", "partnerId": "lab-partner", "name": ' + arrays + b"}"


def post_json(api: Api, emulator: EmulatorServer, method: str, route: str, body: bytes) -> Any:
    """Send ``body`` to ``route`` with real ids of a fresh customer (and its claimed gateway)."""
    customer = api.customer()
    api.claim(customer, "LAB-GW-0001")
    path = route.format(
        customerId=customer.id, locationId=customer.location_id, nodeId="LAB-GW-0001"
    )
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api.token}"}
    return HTTP.request(method, emulator.url + path, content=body, headers=headers)


def test_json_routes_list_names_every_route_with_a_json_body() -> None:
    from plume_emulator import routes_api, routes_control

    with_body = {
        (method, route.path)
        for route in [*routes_api.router.routes, *routes_control.router.routes]
        if isinstance(route, APIRoute) and (route.openapi_extra or {}).get("requestBody")
        for method in route.methods or ()
    }
    assert with_body == set(JSON_ROUTES)


@pytest.mark.parametrize(("method", "route"), [pytest.param(*r, id=r[1]) for r in JSON_ROUTES])
def test_json_nested_1000_deep_is_400_on_every_json_route(
    api: Api, emulator: EmulatorServer, method: str, route: str
) -> None:
    response = post_json(api, emulator, method, route, nested(1000))
    error = assert_error(response, 400, "deeper than 64 levels", "JSON depth limit")
    assert error["name"] == "JsonTooDeep"
    assert HTTP.get(emulator.url + "/_emulator/health").status_code == 200


def test_json_nested_100000_deep_is_400(api: Api, emulator: EmulatorServer) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    response = post_json(api, emulator, "POST", "/api/Customers/register", body)
    assert_error(response, 400, "JSON depth limit")


def test_json_depth_limit_is_64_levels(api: Api, emulator: EmulatorServer) -> None:
    at_limit = post_json(api, emulator, "POST", "/api/Customers/register", nested(64))
    assert_error(at_limit, 422, "name")  # parsed, then refused: a list is not a string
    past_limit = post_json(api, emulator, "POST", "/api/Customers/register", nested(65))
    assert_error(past_limit, 400, "JSON depth limit")


def test_brackets_inside_json_strings_do_not_count_as_nesting(emulator: EmulatorServer) -> None:
    path = '/api/\\"' + "[" * 200 + "{" * 200
    body = ('{"rules": [{"path": "' + path + '", "status": 500}]}').encode()
    response = HTTP.post(
        emulator.url + "/_emulator/faults",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["rules"][0]["path"] == path.replace('\\"', '"')
