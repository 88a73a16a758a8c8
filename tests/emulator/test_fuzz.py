"""Schema-driven fuzzing: operations and body fields come from the emulator's OpenAPI document.

For every generated request: never a 5xx, and a rejected request (4xx) leaves
``/_emulator/state`` exactly as it was. Bounded (derandomized, fixed example
counts) so it runs in a few seconds.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plume_emulator.testing import EmulatorServer
from tests.emulator.helpers import HTTP, Api

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
interesting_text = st.sampled_from(
    [
        "",
        " ",
        "null",
        "LAB-GW-0001",
        "LAB-PK01-1",
        "OTH-GW-0001",
        "a@b.co",
        "x\u201cy",
        'q"q',
        "PodsAdded",
        "auto",
        "lab-partner",
        "other-partner",
        "\u00e9\u00e8",
        "..",
        "%2F",
        "\x00",
        "a" * 300,
    ]
) | st.text(max_size=30)


def operations(server: EmulatorServer) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, body property schemas) of every /api and /oauth2 operation."""
    doc = HTTP.get(server.url + "/openapi.json").json()
    found = []
    for path, item in doc["paths"].items():
        if not path.startswith(("/api", "/oauth2")):
            continue
        for method, op in item.items():
            schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            found.append((method.upper(), path, schema.get("properties", {})))
    return sorted(found)


@st.composite
def requests(
    draw: st.DrawFn, ops: list[tuple[str, str, dict[str, Any]]], ids: dict[str, list[str]]
) -> dict[str, Any]:
    method, template, properties = draw(st.sampled_from(ops))
    path = template
    for name in ("customerId", "locationId", "nodeId", "serialNumber", "value"):
        if "{" + name + "}" in path:
            value = draw(st.sampled_from(ids.get(name, [])) | interesting_text)
            path = path.replace("{" + name + "}", quote(value, safe="") or "x")
    kind = draw(st.sampled_from(["fields", "fields", "fields", "any-json", "raw"]))
    if kind == "fields":
        body: dict[str, Any] = {}
        for field in properties:
            if draw(st.booleans()):
                body[field] = draw(interesting_text | json_values)
        if draw(st.integers(0, 9)) == 0:
            body[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
        content = json.dumps(body).encode()
    elif kind == "any-json":
        content = json.dumps(draw(json_values)).encode()
    else:
        content = draw(st.binary(max_size=60))
    content_type = draw(
        st.sampled_from(["application/json", "application/json", "text/plain", None])
    )
    query = draw(
        st.dictionaries(
            st.sampled_from(["field", "exactMatch", "startsWith", "x"]),
            interesting_text,
            max_size=2,
        )
    )
    return {
        "method": method,
        "path": path,
        "content": content,
        "content_type": content_type,
        "query": query,
    }


@pytest.fixture
def seeded(emulator: EmulatorServer, api: Api, other_api: Api) -> dict[str, list[str]]:
    """A few real ids so generated requests reach deep into the rules, not just 404s."""
    mine, theirs = api.customer(), other_api.customer()
    api.claim(mine, "LAB-GW-0001")
    return {
        "customerId": [mine.id, theirs.id],
        "locationId": [mine.location_id, theirs.location_id],
        "nodeId": ["LAB-GW-0001", "LAB-GW-0002"],
        "serialNumber": ["LAB-GW-0001", "LAB-PK02-1", "OTH-GW-0001"],
        "value": [mine.account_id, mine.location_id, theirs.location_id],
    }


def test_fuzz_api_never_500_and_rejections_change_nothing(
    emulator: EmulatorServer, api: Api, seeded: dict[str, list[str]]
) -> None:
    ops = operations(emulator)
    assert len(ops) >= 14

    @FUZZ
    @given(request=requests(ops, seeded))
    def check(request: dict[str, Any]) -> None:
        before = emulator.state()
        headers = (
            {} if request["content_type"] is None else {"Content-Type": request["content_type"]}
        )
        response = api.http.request(
            request["method"],
            emulator.url + request["path"],
            content=request["content"],
            headers=headers,
            params=request["query"],
        )
        assert response.status_code < 500, (request, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            if request["path"].startswith("/oauth2"):
                assert isinstance(error, str), "Okta's error body"
            else:
                assert error["statusCode"] == response.status_code
            assert emulator.state() == before, request

    check()


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["grant_type", "scope", "client_id", "client_secret", "x"]),
        interesting_text,
        max_size=4,
    ),
    authorization=st.none() | interesting_text | st.just("Basic bGFiLWNsaWVudDpsYWItc2VjcmV0"),
)
def test_fuzz_token_endpoint_never_500(
    shared_emulator: EmulatorServer, form: dict[str, str], authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    try:
        response = HTTP.post(shared_emulator.token_url, data=form, headers=headers)
    except (httpx.LocalProtocolError, UnicodeEncodeError):
        return  # httpx refuses to send that header at all
    assert response.status_code in (200, 400, 401), response.text
    body = response.json()
    assert ("access_token" in body) if response.status_code == 200 else ("error" in body)
