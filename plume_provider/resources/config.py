"""Map Pulumi stack config (`plume:*`) and the `PLUME_*` environment to `PlumeSettings`.

Every `PlumeSettings` field has a stack-config key in the `plume` namespace, its name in
camelCase: `api_url` is `plume:apiUrl`, `client_secret` is `plume:clientSecret`,
`requests_per_second` is `plume:requestsPerSecond`, and so on. A key set in the stack config
wins; a key left out (or empty) falls back to the `PLUME_*` environment variable, then to the
settings default. Values arrive as strings (secrets already decrypted by the dynamic-provider
host) and are coerced by the settings model.

A credential key set in plain text (`pulumi config set` without `--secret`) is refused by the
program (`plaintext_credentials`) unless every URL it is sent to is this machine's (the lab
emulator, whose seed credentials the lab stacks carry openly): the engine keeps every key of the
stack's config in the state, as the inputs of the dynamic provider, so a plain-text credential
would be stored unencrypted in the state of every update, as well as in the stack file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from plume_provider.client.errors import ConfigurationError
from plume_provider.client.settings import PlumeSettings, url_password

__all__ = [
    "CONFIG_KEYS",
    "CONFIG_NAMESPACE",
    "CREDENTIAL_KEYS",
    "ConfigSource",
    "config_values",
    "env_var",
    "plaintext_credentials",
    "settings_from_config",
]

CONFIG_NAMESPACE = "plume"

CONFIG_KEYS: dict[str, str] = {
    f"{CONFIG_NAMESPACE}:{to_camel(name)}": name for name in PlumeSettings.model_fields
}
"""Stack-config key (`plume:apiUrl`) -> `PlumeSettings` field name (`api_url`)."""

CREDENTIAL_KEYS: tuple[str, ...] = tuple(
    key
    for key, name in CONFIG_KEYS.items()
    if SecretStr in getattr(PlumeSettings.model_fields[name].annotation, "__args__", ())
)
"""The keys whose settings field is a secret (`plume:clientSecret`, `plume:authHeader`, ...)."""


def env_var(field: str) -> str:
    """The environment variable a settings field falls back to (`api_url` -> `PLUME_API_URL`)."""
    return f"{PlumeSettings.model_config.get('env_prefix', '')}{field.upper()}"


class ConfigSource(Protocol):
    """What `pulumi.dynamic.Config` offers: `get(key)` with a namespaced key."""

    def get(self, key: str) -> Any:
        """Return the value of `key` (namespaced, e.g. `plume:apiUrl`) or None."""


def config_values(config: ConfigSource | Mapping[str, Any] | None) -> dict[str, str]:
    """The `plume:*` settings present in `config`, keyed by settings field name.

    Empty values count as absent, so an empty stack-config value never hides an env var.
    """
    if config is None:
        return {}
    values: dict[str, str] = {}
    for key, field in CONFIG_KEYS.items():
        value = config.get(key)
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        if text.strip():
            values[field] = text
    return values


def settings_from_config(config: ConfigSource | Mapping[str, Any] | None = None) -> PlumeSettings:
    """Build `PlumeSettings`: stack config first, then `PLUME_*` env vars, then defaults.

    Raises `ConfigurationError` naming the offending key (never its value: it may be a secret).
    """
    values = config_values(config)
    try:
        return PlumeSettings.from_values(**values)
    except ValidationError as err:
        problems = []
        for item in err.errors(include_url=False, include_input=False):
            field = str(item["loc"][0]) if item.get("loc") else "?"
            source = f"{CONFIG_NAMESPACE}:{to_camel(field)}" if field in values else env_var(field)
            problems.append(f"{source}: {item.get('msg', 'invalid value')}")
        raise ConfigurationError(
            "invalid Plume provider settings: " + "; ".join(problems)
        ) from None


def _is_this_machine(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_REDIS_URL_KEYS = ("rate_limit_url", "rate_limit_scope")
"""Settings that may be a Redis URL, whose password goes to the Redis server it names."""


def plaintext_credentials(
    config: ConfigSource | Mapping[str, Any], is_secret: Callable[[str], bool]
) -> list[str]:
    """One problem per credential key set in `config` in plain text (`is_secret(key)` false).

    A credential is allowed in plain text only where every place it is sent is this machine:
    Plume's credentials go to `plume:apiUrl` and `plume:tokenUrl` (each from the stack, else its
    `PLUME_*` variable, else the lab emulator's default), so both must be loopback; a Redis
    password (`plume:rateLimitUrl` or a `plume:rateLimitScope` URL, in the user-info part or as
    `?password=`) goes to the Redis host its URL names. The problems name the key and what to
    run, never the value.
    """
    values = config_values(config)

    def setting(field: str) -> str:
        given = values.get(field) or os.environ.get(env_var(field), "").strip()
        return given or str(PlumeSettings.model_fields[field].default)

    plume_is_local = all(_is_this_machine(setting(field)) for field in ("api_url", "token_url"))
    problems = []
    for key, field in CONFIG_KEYS.items():
        value = values.get(field)
        if value is None or is_secret(key):
            continue
        if field in _REDIS_URL_KEYS:
            if url_password(value) is None or _is_this_machine(value):
                continue
        elif key not in CREDENTIAL_KEYS or plume_is_local:
            continue
        problems.append(_plaintext_problem(key, field))
    return problems


def _plaintext_problem(key: str, field: str) -> str:
    if field == "rate_limit_scope":
        return (
            f"{key} holds a Redis URL with a password in plain text: Pulumi would store it "
            "unencrypted in the stack file and in the state of every update. Move the URL to "
            f"a secret, `pulumi config set --secret {CONFIG_NAMESPACE}:rateLimitUrl <url>`, and "
            f"set {key} to `redis` (or export {env_var('rate_limit_url')} in the shell that "
            "runs pulumi)"
        )
    return (
        f"{key} is set in plain text: Pulumi would store it unencrypted in the stack file "
        f"and in the state of every update. Set it as a secret: `pulumi config set --secret "
        f"{key} <value>` (or leave it out of the stack and export "
        f"{env_var(field)} in the shell that runs pulumi)"
    )
