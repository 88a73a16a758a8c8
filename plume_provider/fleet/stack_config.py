"""The program's `plume-fleet:*` stack config: every key the stack sets, typos included.

`pulumi.Config` reads the keys it is asked for and has no way to list the keys a stack sets,
so a typo'd key (`plume-fleet:retainOnDelte`) would be ignored without a word. `declared_keys`
lists them from the `PULUMI_CONFIG` environment JSON the CLI hands the program, through the
public `pulumi.runtime.get_config_env` (all the language host reads under `pulumi up`), and,
because the SDK has no public way to list config set in-process (`pulumi.runtime.set_all_config`
from an Automation API inline program or a test), from the private
`pulumi.runtime.config.CONFIG` where it exists: read here and nowhere else, and skipped on an
SDK without it. Per-key `PULUMI_CONFIG_<KEY>` variables
cannot be mapped back to a key's spelling, so they are not listed (their values are still read
when the key is known).

`refuse_plaintext_credentials` stops the program before it declares anything when a credential
is set without `--secret` (`resources.config.plaintext_credentials` says which and why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plume_provider.client.errors import ConfigurationError
from plume_provider.fleet.model import FLEET_CONFIG_KEYS
from plume_provider.resources.config import CONFIG_KEYS, plaintext_credentials

if TYPE_CHECKING:
    import pulumi

__all__ = ["declared_keys", "fleet_config", "refuse_plaintext_credentials"]


def declared_keys(namespace: str) -> set[str]:
    """The keys of `namespace` that the stack's config sets, without the `namespace:` prefix."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{namespace}:"
    in_process = getattr(runtime_config, "CONFIG", None)  # private; no public listing
    declared = {**runtime_config.get_config_env(), **(in_process.get() if in_process else {})}
    return {key.removeprefix(prefix) for key in declared if key.startswith(prefix)}


def fleet_config(config: pulumi.Config) -> dict[str, str | None]:
    """Every fleet key and every key the stack sets in `config`'s namespace, with its value
    (None when unset), for `load_fleet`: it reports the unknown ones."""
    keys = declared_keys(config.name) | set(FLEET_CONFIG_KEYS)
    return {key: config.get(key) for key in sorted(keys)}


def refuse_plaintext_credentials() -> None:
    """Raise `ConfigurationError` listing every `plume:*` credential the stack sets in plain
    text for an API off this machine; do nothing otherwise."""
    from pulumi.runtime import config as runtime_config

    values = {key: runtime_config.get_config(key) for key in CONFIG_KEYS}
    problems = plaintext_credentials(values, runtime_config.is_config_secret)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigurationError(
            f"the stack's config holds {len(problems)} credential(s) in plain text; nothing "
            f"was declared or sent to Plume:\n{listing}"
        )
