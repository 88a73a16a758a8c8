"""provider_config: `plume:*` stack config first, then PLUME_* env vars."""

from __future__ import annotations

import pytest
from pulumi.dynamic.config import Config

from plume_provider.client.errors import ConfigurationError
from plume_provider.provider_config import CONFIG_KEYS, config_values, settings_from_config
from plume_provider.resources import CustomerProvider

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
