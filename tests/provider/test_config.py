"""resources.config: `plume:*` stack config first, then PLUME_* env vars."""

from __future__ import annotations

import pytest
from pulumi.dynamic.config import Config

from plume_provider.client.errors import ConfigurationError
from plume_provider.resources import CustomerProvider
from plume_provider.resources.config import (
    CONFIG_KEYS,
    CREDENTIAL_KEYS,
    config_values,
    plaintext_credentials,
    settings_from_config,
)

from .conftest import configure

DOCUMENTED_KEYS = {
    "plume:apiUrl",
    "plume:tokenUrl",
    "plume:authHeader",
    "plume:clientId",
    "plume:clientSecret",
    "plume:partnerId",
    "plume:token",
    "plume:requestsPerSecond",
    "plume:timeoutSeconds",
    "plume:maxRetries",
}


def test_every_documented_key_maps_to_a_setting() -> None:
    assert set(CONFIG_KEYS) >= DOCUMENTED_KEYS
    assert CONFIG_KEYS["plume:apiUrl"] == "api_url"
    assert CONFIG_KEYS["plume:requestsPerSecond"] == "requests_per_second"


def test_stack_config_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_PARTNER_ID", "env-partner")
    monkeypatch.setenv("PLUME_API_URL", "https://env.example/api")
    monkeypatch.setenv("PLUME_MAX_RETRIES", "2")
    config = Config(
        raw_config={
            "plume:partnerId": "cfg-partner",
            "plume:apiUrl": "",  # empty: the env var still applies
            "plume:timeoutSeconds": "7.5",
            "plume:requestsPerSecond": "0",
            "plume-fleet:fleet": "{}",
        },
        project_name="plume-fleet",
    )
    settings = settings_from_config(config)
    assert settings.partner_id == "cfg-partner"
    assert settings.api_url == "https://env.example/api"
    assert settings.max_retries == 2
    assert settings.timeout_seconds == 7.5
    assert settings.requests_per_second == 0


def test_plain_mapping_and_none() -> None:
    assert config_values({"plume:clientId": "abc", "other:x": "y"}) == {"client_id": "abc"}
    assert config_values(None) == {}


def test_invalid_value_names_the_key_not_the_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings_from_config({"plume:maxRetries": "many-secret-retries", "plume:apiUrl": "ftp://x"})
    message = str(caught.value)
    assert "plume:maxRetries" in message
    assert "plume:apiUrl" in message
    assert "many-secret-retries" not in message


def test_configure_rebuilds_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLUME_PARTNER_ID", "env-partner")
    provider = CustomerProvider()
    assert provider.default_partner_id() == "env-partner"
    configure(provider, {"plume:partnerId": "cfg-partner"})
    assert provider.default_partner_id() == "cfg-partner"


REMOTE = "https://partner.plume.example/api"
CREDENTIALS = {
    "plume:authHeader": "Basic c2VjcmV0LXZhbHVl",
    "plume:clientSecret": "client-secret-value",
    "plume:token": "token-value",
    "plume:rateLimitUrl": "redis://:redis-password@ci-redis:6379/0",
}


def test_the_credential_keys_are_the_secret_settings() -> None:
    assert set(CREDENTIAL_KEYS) == set(CREDENTIALS)


@pytest.mark.parametrize("key", sorted(CREDENTIALS))
def test_a_credential_in_plain_text_for_a_remote_api_is_a_problem_naming_the_key(
    key: str,
) -> None:
    problems = plaintext_credentials(
        {"plume:apiUrl": REMOTE, key: CREDENTIALS[key]}, lambda _: False
    )
    assert len(problems) == 1
    assert problems[0].startswith(f"{key} is set in plain text")
    assert f"pulumi config set --secret {key} <value>" in problems[0]
    assert f"PLUME_{CONFIG_KEYS[key].upper()}" in problems[0]
    assert CREDENTIALS[key] not in problems[0]
    assert "redis-password" not in problems[0]


def test_credentials_set_as_secrets_are_no_problem() -> None:
    config = {"plume:apiUrl": REMOTE, **CREDENTIALS}
    assert plaintext_credentials(config, lambda key: key in CREDENTIALS) == []
    assert len(plaintext_credentials(config, lambda key: key != "plume:token")) == 1


PLUME_CREDENTIALS = {k: v for k, v in CREDENTIALS.items() if k != "plume:rateLimitUrl"}


@pytest.mark.parametrize("host", ["http://127.0.0.1:8765", "http://localhost:9", "http://[::1]:80"])
def test_plain_text_credentials_for_the_emulator_on_this_machine_are_allowed(host: str) -> None:
    config = {"plume:apiUrl": f"{host}/api", "plume:tokenUrl": f"{host}/oauth2/token"}
    assert plaintext_credentials({**config, **PLUME_CREDENTIALS}, lambda _: False) == []


def test_without_api_and_token_urls_the_default_lab_emulator_allows_plain_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLUME_API_URL", raising=False)
    monkeypatch.delenv("PLUME_TOKEN_URL", raising=False)
    assert plaintext_credentials(dict(PLUME_CREDENTIALS), lambda _: False) == []


@pytest.mark.parametrize("source", ["stack", "environment"])
def test_a_remote_token_url_counts_though_the_api_is_on_this_machine(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client secret goes wherever the token URL points: a loopback apiUrl with a remote
    tokenUrl would otherwise store the secret in plain text."""
    monkeypatch.delenv("PLUME_TOKEN_URL", raising=False)
    config = {"plume:apiUrl": "http://127.0.0.1:8765/api", "plume:clientSecret": "x-secret"}
    if source == "stack":
        config["plume:tokenUrl"] = "https://okta.example.org/oauth2/token"
    else:
        monkeypatch.setenv("PLUME_TOKEN_URL", "https://okta.example.org/oauth2/token")
    problems = plaintext_credentials(config, lambda _: False)
    assert [p.split(" ", 1)[0] for p in problems] == ["plume:clientSecret"]


CANARY = "canary-Zq81xK"


@pytest.mark.parametrize(
    ("key", "url"),
    [
        ("plume:rateLimitUrl", f"redis://:{CANARY}@ci-redis:6379/0"),
        ("plume:rateLimitUrl", f"redis://ci-redis:6379/0?password={CANARY}"),
        ("plume:rateLimitScope", f"redis://:{CANARY}@ci-redis:6379/0"),
        ("plume:rateLimitScope", f"redis://ci-redis/0?password={CANARY}"),
    ],
)
def test_a_redis_password_in_plain_text_is_a_problem_even_with_the_lab_emulator(
    key: str, url: str
) -> None:
    """A Redis password goes to the Redis host, whatever the API: the lab's loopback emulator
    does not exempt it, and the problem never echoes it."""
    problems = plaintext_credentials({key: url}, lambda _: False)
    assert [p.split(" ", 1)[0] for p in problems] == [key]
    assert CANARY not in problems[0]
    assert "pulumi config set --secret plume:rateLimitUrl" in problems[0]


def test_a_redis_password_for_a_redis_on_this_machine_is_allowed() -> None:
    config = {"plume:rateLimitUrl": f"redis://:{CANARY}@127.0.0.1:6379/0"}
    assert plaintext_credentials(config, lambda _: False) == []


def test_the_api_url_of_the_environment_counts_when_the_stack_sets_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLUME_API_URL", REMOTE)
    problems = plaintext_credentials({"plume:clientSecret": "x-secret"}, lambda _: False)
    assert [p.split(" ", 1)[0] for p in problems] == ["plume:clientSecret"]


def test_a_rate_limit_url_without_a_password_is_no_credential() -> None:
    config = {"plume:apiUrl": REMOTE, "plume:rateLimitUrl": "redis://ci-redis:6379/0"}
    assert plaintext_credentials(config, lambda _: False) == []
