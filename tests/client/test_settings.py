"""Settings: explicit values, then PLUME_* env vars; secrets hidden."""

from __future__ import annotations

import pytest

from plume_provider.client.settings import PlumeSettings


def test_defaults() -> None:
    s = PlumeSettings()
    assert (s.requests_per_second, s.timeout_seconds, s.max_retries) == (6.0, 30.0, 5)
    assert s.auth_mode == "oauth"


def test_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "PLUME_API_URL": "https://cloud.example/api/",
        "PLUME_TOKEN_URL": "https://okta.example/oauth2/x/v1/token",
        "PLUME_AUTH_HEADER": "Basic abc123==",
        "PLUME_PARTNER_ID": "p-1",
        "PLUME_REQUESTS_PER_SECOND": "2.5",
        "PLUME_TIMEOUT_SECONDS": "7",
        "PLUME_MAX_RETRIES": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = PlumeSettings()
    assert s.api_url == "https://cloud.example/api"
    assert s.basic_credentials() == "Basic abc123=="
    assert (s.partner_id, s.requests_per_second, s.timeout_seconds, s.max_retries) == (
        "p-1",
        2.5,
        7.0,
        1,
    )


def test_explicit_values_win_and_none_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_PARTNER_ID", "from-env")
    monkeypatch.setenv("PLUME_MAX_RETRIES", "2")
    s = PlumeSettings.from_values(partner_id="explicit", max_retries=None)
    assert (s.partner_id, s.max_retries) == ("explicit", 2)


def test_client_id_and_secret_build_the_basic_header() -> None:
    s = PlumeSettings(client_id="lab-client", client_secret="lab-secret")
    assert s.basic_credentials() == "Basic bGFiLWNsaWVudDpsYWItc2VjcmV0"


def test_header_without_scheme_gets_basic() -> None:
    assert PlumeSettings(auth_header="abc==").basic_credentials() == "Basic abc=="


def test_token_means_static_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_TOKEN", "pre-issued")
    assert PlumeSettings().auth_mode == "static"


def test_blank_env_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_TOKEN", "")
    monkeypatch.setenv("PLUME_PARTNER_ID", " ")
    s = PlumeSettings()
    assert (s.token, s.partner_id) == (None, None)


def test_secrets_hidden_in_repr_and_str() -> None:
    s = PlumeSettings(auth_header="Basic c2VjcmV0", client_secret="hunter22", token="tok-9")
    for text in (repr(s), str(s)):
        assert "c2VjcmV0" not in text
        assert "hunter22" not in text
        assert "tok-9" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requests_per_second", -1),
        ("burst", 0),
        ("timeout_seconds", 0),
        ("max_retries", -1),
        ("api_url", "ftp://x"),
    ],
)
def test_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PlumeSettings.from_values(**{field: value})
