"""The client and the emulator accept exactly the same inputs (issue 11, item 9).

The two packages share no code, so their rules are written twice; this property test keeps them
equal. For every field both check, hypothesis generates values (free text, near-misses of the
valid shapes, boundary lengths, path tricks) and asserts

    the provider's `check()` accepts the value  <=>  the emulator, over real HTTP, accepts it.

"The emulator accepts" means: register (or claim, or rename) answers something other than 422,
and for an accountId also that the customer search by that accountId (the client's encoding:
every reserved character percent-encoded) finds it, since the client needs that search to
recover a lost answer and to adopt. When the two disagree, preview would pass and `up` fail
(or a valid input would be refused at preview): the failing example names the field and value.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plume_emulator.testing import EmulatorServer
from plume_provider.resources.customer import CustomerProvider
from plume_provider.resources.node import NodeProvider

PARTNER = "lab-partner"
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_counter = itertools.count()


@dataclass
class Lab:
    http: httpx.Client
    customer_id: str
    location_id: str
    node: str


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    path = tmp_path_factory.mktemp("agree") / "plume.sqlite"
    with EmulatorServer(path, waf_limit=0) as server:
        token = server.mint_token(partnerId=PARTNER)
        with httpx.Client(
            base_url=server.api_url + "/",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        ) as http:
            home = _post(
                http, "Customers/register", {"accountId": "AGREE-HOME", "partnerId": PARTNER}
            )
            assert home.status_code == 200, home.text
            customer_id, location_id = home.json()["id"], home.json()["locationId"]
            claim = f"Customers/{customer_id}/locations/{location_id}/nodes"
            assert _post(http, claim, {"serialNumber": "LAB-GW-0001"}).status_code == 200
            yield Lab(http, customer_id, location_id, "LAB-GW-0001")


def _post(
    http: httpx.Client, path: str, body: dict[str, Any], method: str = "POST"
) -> httpx.Response:
    # json.dumps escapes a lone surrogate as \\ud800, as a JSON library in a CRM export would.
    return http.request(method, path, content=json.dumps(body).encode())


def _accepted(response: httpx.Response, *, also: tuple[int, ...] = ()) -> bool:
    """422 (validation) and 400 (path refused) are "rejected"; the expected outcomes "accepted"."""
    if response.status_code in (400, 422):
        return False
    assert response.status_code in (200, 204, *also), (response.status_code, response.text)
    return True


# -- what each side says ----------------------------------------------------------------------


def client_accepts_customer(field: str, value: str) -> bool:
    inputs = {"accountId": "AGREE-1", "partnerId": PARTNER, field: value}
    return CustomerProvider().check({}, inputs).failures == []


def emulator_accepts_customer(lab: Lab, field: str, value: str) -> bool:
    body: dict[str, Any] = {"accountId": f"AGREE-{next(_counter)}", "partnerId": PARTNER}
    body[field] = value
    response = _post(lab.http, "Customers/register", body)
    if not _accepted(response):
        return False
    customer_id = response.json()["id"]
    try:
        if field != "accountId":
            return True
        segment = quote(value, safe="")
        if set(value) <= {"."}:
            # httpx would remove a '.' or '..' segment; %2E keeps it for the emulator to judge
            segment = segment.replace(".", "%2E")
        search = lab.http.get(
            f"Partners/customers/search/{segment}",
            params={"field": "accountId", "exactMatch": "true"},
        )
        if not _accepted(search):
            return False
        return customer_id in [hit["id"] for hit in search.json()]
    finally:
        assert lab.http.delete(f"Customers/{customer_id}").status_code == 200


def client_accepts_node(field: str, value: str) -> bool:
    inputs = {"customerId": "c1", "locationId": "l1", "serialNumber": "LAB-GW-0001", field: value}
    return NodeProvider().check({}, inputs).failures == []


def emulator_accepts_node(lab: Lab, field: str, value: str) -> bool:
    location = f"Customers/{lab.customer_id}/locations/{lab.location_id}"
    if field == "nickname":
        response = _post(lab.http, f"{location}/nodes/{lab.node}", {"nickname": value}, "PUT")
        return _accepted(response)
    # a valid serial not in the inventory is 404: accepted as a serial, just unknown
    response = _post(lab.http, f"{location}/nodes", {"serialNumber": value})
    return _accepted(response, also=(404,))


# -- generated values ---------------------------------------------------------------------------

_TRICKY = st.sampled_from(
    [
        "",
        " ",
        ".",
        "..",
        "...",
        "null",
        "NULL",
        "a/b",
        "a\\b",
        "a?b",
        "a#b",
        "100%",
        "%2E%2E",
        "en-US\n",
        "x\ud800y",
        "A\u00a0B",
        "A\u200bB",
        "tab\there",
        "Zürich",
        "\u201cquoted\u201d",
        'say "hi"',
    ]
)
_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=20) | st.text(
    st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=4
)


def _lengths(base: str) -> st.SearchStrategy[str]:
    """Values around the length limits (64, 254, 255)."""
    return st.sampled_from([62, 63, 64, 65, 253, 254, 255, 256]).map(lambda n: (base * n)[:n])


def _through_json(value: str) -> str:
    """The value as it arrives through any JSON boundary (a surrogate pair becomes one
    character), so both sides judge the same string."""
    result: str = json.loads(json.dumps(value))
    return result


TEXT = (_TRICKY | _ANY_TEXT | _lengths("Ab") | _lengths("é ")).map(_through_json)
EMAILS = (
    st.emails()
    | st.from_regex(
        r"[A-Za-z0-9.!#%+_-]{0,8}@[A-Za-z0-9.-]{0,10}(\.[A-Za-z0-9]{0,4})?", fullmatch=True
    )
    | st.builds(lambda n: "a" * n + "@example.org", st.sampled_from([63, 64, 65]))
    | st.builds(lambda n: "a@" + "b" * n + ".org", st.sampled_from([62, 63, 64]))
    | st.builds(
        lambda n: "a@" + "b" * 60 + "." * 0 + ("." + "c" * 60) * n + ".org", st.integers(2, 4)
    )
    | _TRICKY
)
LANGUAGES = (
    st.from_regex(r"[a-z]{2,3}-([A-Z]{1,3}|[0-9]{2,4})", fullmatch=True)
    | st.from_regex(r"[a-zA-Z]{1,4}(-[A-Za-z0-9]{1,4}){0,2}\n?", fullmatch=True)
    | _TRICKY
)
SERIALS = (
    st.from_regex(r"[A-Za-z0-9._\-/\\?#% :]{0,12}", fullmatch=True)
    | _lengths("LAB-")
    | _TRICKY
    | _ANY_TEXT
).map(_through_json)
CHOICES = (
    st.sampled_from(
        ["auto", "smallbusiness", "Auto", "PodsAdded", "OnboardingComplete", "podsadded", ""]
    )
    | _TRICKY
)


# -- the properties -------------------------------------------------------------------------------


def _agree(field: str, value: str, client: bool, emulator: bool) -> None:
    assert client == emulator, (
        f"{field}={value!r}: the client {'accepts' if client else 'rejects'} it, "
        f"the emulator {'accepts' if emulator else 'rejects'} it"
    )


@pytest.mark.parametrize("field", ["accountId", "name"])
@EXAMPLES
@given(value=TEXT)
def test_customer_text_fields_agree(lab: Lab, field: str, value: str) -> None:
    _agree(
        field,
        value,
        client_accepts_customer(field, value),
        emulator_accepts_customer(lab, field, value),
    )


@EXAMPLES
@given(value=EMAILS)
def test_email_rules_agree(lab: Lab, value: str) -> None:
    _agree(
        "email",
        value,
        client_accepts_customer("email", value),
        emulator_accepts_customer(lab, "email", value),
    )


@EXAMPLES
@given(value=LANGUAGES)
def test_accept_language_rules_agree(lab: Lab, value: str) -> None:
    field = "acceptLanguage"
    _agree(
        field,
        value,
        client_accepts_customer(field, value),
        emulator_accepts_customer(lab, field, value),
    )


@pytest.mark.parametrize("field", ["profile", "onboardingCheckpoint"])
@EXAMPLES
@given(value=CHOICES)
def test_choice_fields_agree(lab: Lab, field: str, value: str) -> None:
    _agree(
        field,
        value,
        client_accepts_customer(field, value),
        emulator_accepts_customer(lab, field, value),
    )


@EXAMPLES
@given(value=SERIALS)
def test_serial_number_rules_agree(lab: Lab, value: str) -> None:
    field = "serialNumber"
    _agree(
        field, value, client_accepts_node(field, value), emulator_accepts_node(lab, field, value)
    )


@EXAMPLES
@given(value=TEXT)
def test_nickname_rules_agree(lab: Lab, value: str) -> None:
    field = "nickname"
    _agree(
        field, value, client_accepts_node(field, value), emulator_accepts_node(lab, field, value)
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("nickname", "n" * 255, id="nickname-255-characters"),
        pytest.param("acceptLanguage", "es-419", id="accept-language-es-419"),
    ],
)
def test_the_two_values_of_the_issue_are_accepted_by_both(lab: Lab, field: str, value: str) -> None:
    if field == "nickname":
        assert client_accepts_node(field, value)
        assert emulator_accepts_node(lab, field, value)
    else:
        assert client_accepts_customer(field, value)
        assert emulator_accepts_customer(lab, field, value)
