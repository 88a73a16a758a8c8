"""Map Pulumi stack config (`plume:*`) and the `PLUME_*` environment to `PlumeSettings`.

Every `PlumeSettings` field has a stack-config key in the `plume` namespace, its name in
camelCase: `api_url` is `plume:apiUrl`, `client_secret` is `plume:clientSecret`,
`requests_per_second` is `plume:requestsPerSecond`, and so on. A key set in the stack config
wins; a key left out (or empty) falls back to the `PLUME_*` environment variable, then to the
settings default. Values arrive as strings (secrets already decrypted by the dynamic-provider
host) and are coerced by the settings model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from plume_provider.client.errors import ConfigurationError
from plume_provider.client.settings import PlumeSettings

__all__ = [
    "CONFIG_KEYS",
    "CONFIG_NAMESPACE",
    "ConfigSource",
    "config_values",
    "settings_from_config",
]

CONFIG_NAMESPACE = "plume"

CONFIG_KEYS: dict[str, str] = {
    f"{CONFIG_NAMESPACE}:{to_camel(name)}": name for name in PlumeSettings.model_fields
}
"""Stack-config key (`plume:apiUrl`) -> `PlumeSettings` field name (`api_url`)."""


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
            source = (
                f"{CONFIG_NAMESPACE}:{to_camel(field)}"
                if field in values
                else f"PLUME_{field.upper()}"
            )
            problems.append(f"{source}: {item.get('msg', 'invalid value')}")
        raise ConfigurationError(
            "invalid Plume provider settings: " + "; ".join(problems)
        ) from None
