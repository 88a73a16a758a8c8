"""No credential ever appears in an error, a repr, a log line or a traceback."""

from __future__ import annotations

import base64
import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from plume_provider.client import PlumeClient
from plume_provider.client._redaction import REDACTED, logger, redact, register_secret
from plume_provider.client.errors import ConfigurationError, PlumeError
from plume_provider.client.models import CustomerRegistration
from plume_provider.client.settings import PlumeSettings

from .conftest import API, CLIENT_ID, PARTNER, SECRET, TOKEN_URL, Sleeps, TokenEndpoint, plume_error

BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
STATIC = "static-login-token-5e6f7a8b"


def secrets(token_endpoint: TokenEndpoint) -> list[str]:
    return [SECRET, BASIC, STATIC, *token_endpoint.issued]


def register(c: PlumeClient) -> Any:
    return c.register_customer(CustomerRegistration(account_id="A", partner_id=PARTNER))


SCENARIOS: dict[str, tuple[str, Any, Callable[[PlumeClient], Any]]] = {
    **{
        f"register-{status}": ("register", plume_error(status), register)
        for status in (400, 401, 403, 404, 409, 422)
    },
    "register-echoes-token": (
        "register",
        plume_error(422, "bad header Authorization: Bearer tok-1-a1b2c3d4"),
        register,
    ),
    "register-echoes-secret": ("register", plume_error(400, f"client_secret={SECRET}"), register),
    "lookup-waf": (
        "lookup",
        httpx.Response(
            403, json={"error": {"name": "RequestBlocked"}}, headers={"Retry-After": "99"}
        ),
        lambda c: c.lookup_node("S1"),
    ),
    "lookup-500": ("lookup", plume_error(500), lambda c: c.lookup_node("S1")),
    "lookup-timeout": ("lookup", httpx.ReadTimeout("timed out"), lambda c: c.lookup_node("S1")),
    "lookup-connect": ("lookup", httpx.ConnectError("refused"), lambda c: c.lookup_node("S1")),
    "claim-409": ("claim", plume_error(409), lambda c: c.claim_node("c", "l", "S1")),
    "claim-422": (
        "claim",
        plume_error(422, "numPodsAuthorized=2"),
        lambda c: c.claim_node("c", "l", "S1"),
    ),
    "token-invalid-client": (
        "token",
        httpx.Response(401, json={"error": "invalid_client", "error_description": BASIC}),
        lambda c: c.lookup_node("S1"),
    ),
    "token-500": (
        "token",
        httpx.Response(500, text=f"oops {SECRET}"),
        lambda c: c.lookup_node("S1"),
    ),
    "token-garbage": (
        "token",
        httpx.Response(200, json={"nope": 1}),
        lambda c: c.lookup_node("S1"),
    ),
}

ROUTES = {
    "register": ("POST", f"{API}/Customers/register"),
    "lookup": ("GET", f"{API}/Partners/nodes/S1"),
    "claim": ("POST", f"{API}/Customers/c/locations/l/nodes"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("mode", ["client-secret", "auth-header"])
def test_no_secret_in_errors_reprs_or_logs(
    mock: respx.MockRouter,
    token_endpoint: TokenEndpoint,
    caplog: pytest.LogCaptureFixture,
    scenario: str,
    mode: str,
) -> None:
    kind, answer, call = SCENARIOS[scenario]
    if kind == "token":
        mock.routes["token"].mock(side_effect=[answer] * 8)
    else:
        method, url = ROUTES[kind]
        mock.route(method=method, url=url).mock(side_effect=[answer] * 8)
    credentials = (
        {"client_id": CLIENT_ID, "client_secret": SECRET}
        if mode == "client-secret"
        else {"auth_header": f"Basic {BASIC}"}
    )
    settings = PlumeSettings(
        api_url=API,
        token_url=TOKEN_URL,
        partner_id=PARTNER,
        requests_per_second=0,
        max_retries=1,
        max_rate_limit_wait_seconds=100,
        **credentials,  # type: ignore[arg-type]
    )
    with caplog.at_level(logging.DEBUG), PlumeClient(settings, sleep=Sleeps()) as c:
        with pytest.raises(PlumeError) as info:
            call(c)
        logger.exception("operation failed: %s", info.value, exc_info=info.value)
        texts = [
            str(info.value),
            repr(info.value),
            "".join(traceback.format_exception(info.value)),
            repr(settings),
            str(settings),
            repr(c),
            caplog.text,
            *(r.getMessage() for r in caplog.records),
        ]
    for text in texts:
        for secret in secrets(token_endpoint):
            assert secret not in text, (secret, text)
    assert caplog.records


def test_static_token_never_shown(mock: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    mock.get(f"{API}/Partners/nodes/S1").mock(
        return_value=plume_error(401, f"token {STATIC} expired")
    )
    settings = PlumeSettings(api_url=API, token=STATIC, requests_per_second=0)
    with caplog.at_level(logging.DEBUG), PlumeClient(settings) as c:
        with pytest.raises(PlumeError) as info:
            c.lookup_node("S1")
        logger.warning("sent Authorization %s", STATIC)
        texts = [str(info.value), repr(info.value), repr(settings), repr(c), caplog.text]
    assert all(STATIC not in text for text in texts)


def test_configuration_error_does_not_show_the_secret() -> None:
    with pytest.raises(ConfigurationError) as info:
        PlumeClient(PlumeSettings(client_id="x", client_secret=SECRET))
    assert SECRET not in str(info.value)


def test_filter_redacts_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    PlumeSettings(client_id=CLIENT_ID, client_secret=SECRET)
    with caplog.at_level(logging.DEBUG, logger="plume_provider"):
        logger.info("headers %s", {"Authorization": f"Basic {BASIC}"})
        try:
            raise RuntimeError(f"failed with secret {SECRET}")
        except RuntimeError:
            logger.exception("boom")
    assert SECRET not in caplog.text
    assert BASIC not in caplog.text
    assert REDACTED in caplog.text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Authorization: Bearer abc.def.ghi", "Authorization: "),
        ("Basic bGFiOnNlY3JldA==", "Basic "),
        ("access_token=eyJhbGciOi.eyJzdWIi.sig&x=1", "access_token="),
        ('{"access_token": "xyz123"}', '{"access_token": "'),
        ("PLUME_CLIENT_SECRET=hunter22", "PLUME_CLIENT_SECRET="),
    ],
)
def test_redact_patterns(text: str, kept: str) -> None:
    out = redact(text)
    assert out.startswith(kept)
    assert REDACTED in out


def test_redact_leaves_ordinary_text() -> None:
    text = "token rejected: check PLUME_AUTH_HEADER and the partnerId scope"
    assert redact(text) == text


# -- coverage of every logger under plume_provider, and of the SDK's loggers ------------------


@pytest.mark.parametrize(
    "name", ["plume_provider.resources", "plume_provider.resources.customer", "plume_provider.x"]
)
def test_child_logger_records_are_redacted_when_propagated(
    caplog: pytest.LogCaptureFixture, name: str
) -> None:
    PlumeSettings(client_id=CLIENT_ID, client_secret=SECRET)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger(name).warning("sent %s", {"Authorization": f"Basic {BASIC}"})
    assert caplog.records
    assert BASIC not in caplog.text
    assert SECRET not in caplog.text
    assert REDACTED in caplog.text


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.mark.parametrize("name", ["plume_provider.resources", "pulumi.dynamic", "pulumi", "httpx"])
def test_logger_with_its_own_handler_is_redacted(name: str) -> None:
    """A child of plume_provider (or an SDK logger) with its own handler and no propagation."""
    PlumeSettings(client_id=CLIENT_ID, client_secret=SECRET)
    child = logging.getLogger(name)
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    saved = (child.level, child.propagate)
    child.addHandler(handler)
    child.setLevel(logging.DEBUG)
    child.propagate = False
    try:
        child.info("retrying with secret %s", SECRET)
        try:
            raise RuntimeError(f"Authorization: Basic {BASIC}")
        except RuntimeError:
            child.exception("call failed")
    finally:
        child.removeHandler(handler)
        child.setLevel(saved[0])
        child.propagate = saved[1]
    text = "\n".join(handler.lines)
    assert len(handler.lines) == 2
    assert SECRET not in text
    assert BASIC not in text
    assert "RuntimeError" in text
    assert text.count(REDACTED) >= 2


def test_redacting_basic_credentials_keeps_the_closing_parenthesis() -> None:
    out = redact(f"the token endpoint refused it (send Authorization: Basic {BASIC})")
    assert BASIC not in out
    assert out.startswith("the token endpoint refused it (send Authorization: ")
    assert out.endswith(f"{REDACTED})")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "(client_secret=hunter22-xyz).", f"(client_secret={REDACTED}).", id="key-in-parens"
        ),
        pytest.param(
            "[token: abc-123-def]; next", f"[token: {REDACTED}]; next", id="key-in-brackets"
        ),
        pytest.param(
            "Authorization: Basic bGFiOnNlY3JldA==.",
            f"Authorization: Basic {REDACTED}.",
            id="basic",
        ),
    ],
)
def test_redaction_replaces_only_the_secret(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln expired",
            f"token {REDACTED} expired",
            id="bare-jwt",
        ),
        pytest.param("Bearer abc123", f"Bearer {REDACTED}", id="bearer"),
        pytest.param("client_secret=hunter22&x=1", f"client_secret={REDACTED}&x=1", id="key"),
    ],
)
def test_redact_replaces_exactly_the_credential(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_filter_redacts_a_record_whose_arguments_do_not_fit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A format string and arguments that do not match still log, as the raw text, redacted."""
    with caplog.at_level(logging.WARNING, logger="plume_provider"):
        logger.warning("retrying with token=%d", "abc")
    [record] = [r for r in caplog.records if r.name == "plume_provider"]
    assert record.getMessage() == f"retrying with token={REDACTED}"


def test_filter_keeps_the_traceback_and_stack_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="plume_provider"):
        try:
            raise RuntimeError("client_secret=hunter22")
        except RuntimeError as err:
            expected = "".join(traceback.format_exception(err))
            logger.exception("boom")
        logger.warning("here", stack_info=True)
    failed, here = [r for r in caplog.records if r.name == "plume_provider"]
    assert failed.exc_text is not None
    assert failed.exc_text.startswith("Traceback (most recent call last):\n")
    assert failed.exc_text.endswith(f"RuntimeError: client_secret={REDACTED}")
    # the traceback as Python prints it, only the secret replaced
    assert failed.exc_text == expected.replace("hunter22", REDACTED).rstrip("\n")
    assert here.stack_info is not None
    assert here.stack_info.startswith("Stack (most recent call last):")


# -- the registry of secrets seen (values no pattern recognises) -------------------------------
# The registry is the process's: each test makes values never seen before, so an earlier
# registration (another test, an earlier run in the same process) cannot do its work.


def fresh(length: int = 12) -> str:
    """A value no pattern recognises and no earlier call registered."""
    return "v" + uuid.uuid4().hex[: length - 1]


def test_a_registered_secret_without_any_pattern_is_redacted_wherever_it_appears() -> None:
    secret = fresh()
    register_secret(secret)
    assert redact(f"sent {secret}, twice: {secret}.") == f"sent {REDACTED}, twice: {REDACTED}."


def test_overlapping_secrets_redact_fully_the_longest_first() -> None:
    """A secret that extends another (a token and its refreshed form) leaves no tail behind."""
    short = fresh()
    register_secret(short)
    register_secret(f"{short}-and-more")
    register_secret(f"{short}-and")
    register_secret(f"0{short}")  # contains the short one, and sorts before it
    assert redact(f"a {short}-and-more b") == f"a {REDACTED} b"
    assert redact(f"a {short}-and b") == f"a {REDACTED} b"
    assert redact(f"a 0{short} b") == f"a {REDACTED} b"
    assert redact(f"a {short} b") == f"a {REDACTED} b"


def test_secrets_shorter_than_four_characters_are_not_registered() -> None:
    """Three characters would redact ordinary words; four is the documented minimum."""
    three, four = fresh(3), fresh(4)
    register_secret(None)
    register_secret("")
    register_secret(three)
    register_secret(four)
    assert redact(f"{three} {four}") == f"{three} {REDACTED}"
