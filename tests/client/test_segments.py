"""The wire form of ids in paths: every reserved character percent-encoded, so the route Plume
sees is the route the client meant (respx records the raw request path)."""

from __future__ import annotations

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client.errors import InputValidationError
from plume_provider.client.identifiers import segment

from .conftest import API


@pytest.mark.parametrize(
    ("account_id", "wire"),
    [
        pytest.param("a b", b"a%20b", id="space"),
        pytest.param("a?field=email", b"a%3Ffield%3Demail", id="query-injection"),
        pytest.param("a#b", b"a%23b", id="fragment"),
        pytest.param("100%2F", b"100%252F", id="percent-is-encoded-not-passed-through"),
        pytest.param("%2E%2E", b"%252E%252E", id="encoded-dotdot-stays-text"),
        pytest.param("Zürich", b"Z%C3%BCrich", id="non-ascii-as-utf-8"),
        pytest.param("a.b", b"a.b", id="dot-inside-kept"),
    ],
)
def test_search_path_carries_the_account_id_percent_encoded(
    client: PlumeClient, mock: respx.MockRouter, account_id: str, wire: bytes
) -> None:
    route = mock.get(url__startswith=f"{API}/Partners/customers/search/").mock(
        return_value=httpx.Response(200, json=[{"id": "c1", "accountId": account_id}])
    )
    hits = client.find_customers_by_account_id(account_id)
    assert [hit.id for hit in hits] == ["c1"]
    request = route.calls.last.request
    assert request.url.raw_path.split(b"?")[0] == b"/api/Partners/customers/search/" + wire
    assert request.url.params["field"] == "accountId"


@pytest.mark.parametrize("kind", ["serialNumber", "customerId", "locationId", "nodeId"])
@pytest.mark.parametrize("value", [".", "..", "a/b", "a\\b", "a?b", "a#b", "a%b", "a b", ""])
def test_no_plain_id_with_a_path_character_is_encoded_it_is_refused(kind: str, value: str) -> None:
    with pytest.raises(InputValidationError, match=kind) as info:
        segment(kind, value)  # type: ignore[arg-type]
    assert info.value.errors[0][0] == kind
