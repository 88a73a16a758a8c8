"""Client settings: explicit values first, then `PLUME_*` environment variables.

Secrets are `SecretStr`, so `repr()`/`str()` of the settings never show them; they are also
registered with the redaction filter so they never reach a log line.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plume_provider.client._redaction import register_secret
from plume_provider.client.errors import ConfigurationError

__all__ = ["REDIS_SCHEMES", "AuthMode", "PlumeSettings", "RateLimitScope"]

AuthMode = Literal["oauth", "static"]
RateLimitScope = Literal["process", "machine", "redis"]
"""Who shares one rate budget: this process, every process of this machine, or every process
of every machine using one Redis (`rate_limit_url`)."""
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class PlumeSettings(BaseSettings):
    """Where Plume is, how to authenticate, and how hard to push it."""

    model_config = SettingsConfigDict(env_prefix="PLUME_", extra="ignore", frozen=True)

    api_url: str = "http://127.0.0.1:8765/api"
    token_url: str = "http://127.0.0.1:8765/oauth2/token"
    auth_header: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    partner_id: str | None = None
    token: SecretStr | None = None
    requests_per_second: float = Field(default=6.0, ge=0)
    burst: int = Field(default=6, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    max_rate_limit_wait_seconds: float = Field(default=300.0, ge=0)
    rate_limit_scope: str | None = None
    """`process`, `machine` (the default) or `redis`, or a Redis URL (= `redis` at that URL)."""
    rate_limit_url: SecretStr | None = None
    """`redis://[:password@]host:6379/0`: the budget of several machines behind one IP."""

    @classmethod
    def from_values(cls, **explicit: object) -> PlumeSettings:
        """Build from explicit values (None means "not given"), falling back to env vars."""
        given: dict[str, Any] = {key: value for key, value in explicit.items() if value is not None}
        return cls(**given)

    @field_validator("api_url", "token_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("client_id", "partner_id")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("rate_limit_scope")
    @classmethod
    def _check_scope(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.lower() in ("process", "machine", "redis"):
            return value.lower()
        if value.startswith(REDIS_SCHEMES):
            return value
        raise ValueError(
            "must be 'process', 'machine', 'redis' or a redis:// URL, not "
            + repr(masked_url(value)[:40])
        )

    @field_validator("rate_limit_url")
    @classmethod
    def _check_rate_limit_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not url.startswith(REDIS_SCHEMES):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return SecretStr(url)

    @model_validator(mode="after")
    def _one_rate_budget(self) -> PlumeSettings:
        scope = self.rate_limit_scope
        url = self.rate_limit_url
        if scope is not None and scope.startswith(REDIS_SCHEMES):
            if url is not None and url.get_secret_value() != scope:
                raise ValueError(
                    "rate_limit_scope and rate_limit_url name two different Redis servers"
                )
        elif scope == "redis" and url is None:
            raise ValueError("rate_limit_scope 'redis' needs rate_limit_url (the Redis URL)")
        elif scope in ("process", "machine") and url is not None:
            raise ValueError(
                f"rate_limit_url is set but rate_limit_scope is {scope!r}: unset one of them "
                "(a Redis URL is never ignored)"
            )
        return self

    @property
    def rate_limit_mode(self) -> RateLimitScope:
        """Who shares the rate budget: `machine` unless told otherwise or given a Redis URL."""
        scope = self.rate_limit_scope
        if scope in ("process", "machine"):
            return scope  # type: ignore[return-value]
        if scope is not None or self.rate_limit_url is not None:
            return "redis"
        return "machine"

    @property
    def rate_limit_redis_url(self) -> str | None:
        """The Redis URL of the shared budget (scope `redis`), else None."""
        if self.rate_limit_url is not None:
            return self.rate_limit_url.get_secret_value()
        scope = self.rate_limit_scope
        return scope if scope is not None and scope.startswith(REDIS_SCHEMES) else None

    @field_validator("auth_header", "client_secret", "token")
    @classmethod
    def _empty_secret_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _register_secrets(self) -> PlumeSettings:
        for secret in (self.auth_header, self.client_secret, self.token):
            if secret is not None:
                register_secret(secret.get_secret_value())
        redis_url = self.rate_limit_redis_url
        if redis_url is not None:
            password = urlsplit(redis_url).password
            if password:
                register_secret(password)
        basic = self.basic_credentials()
        if basic is not None:
            register_secret(basic)
            register_secret(basic.removeprefix("Basic ").strip())
        return self

    @property
    def auth_mode(self) -> AuthMode:
        """`static` when a pre-issued token is configured, else `oauth`."""
        return "static" if self.token is not None else "oauth"

    def basic_credentials(self) -> str | None:
        """The `Basic ...` header value from PLUME_AUTH_HEADER or client id + secret."""
        if self.auth_header is not None:
            value = self.auth_header.get_secret_value()
            return value if value.lower().startswith("basic ") else f"Basic {value}"
        if self.client_id and self.client_secret is not None:
            raw = f"{self.client_id}:{self.client_secret.get_secret_value()}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return None

    def require_usable(self) -> None:
        """Raise `ConfigurationError` unless these settings can authenticate."""
        if self.auth_mode == "static":
            return
        if self.basic_credentials() is None:
            if self.client_id or self.client_secret is not None:
                raise ConfigurationError(
                    "PLUME_CLIENT_ID and PLUME_CLIENT_SECRET must be set together"
                )
            raise ConfigurationError(
                "no Plume credentials: set PLUME_AUTH_HEADER (the 'Basic ...' value), or "
                "PLUME_CLIENT_ID and PLUME_CLIENT_SECRET, or a pre-issued PLUME_TOKEN"
            )
        if not self.partner_id:
            raise ConfigurationError(
                "PLUME_PARTNER_ID (plume:partnerId) is required: the OAuth token scope is "
                "'partnerId:<id> role:partnerIdAdmin'"
            )


_MASK = "***"


def url_password(url: str) -> str | None:
    """The password `url` carries, in its user-info part (`redis://:pw@host`) or its query
    (`?password=pw`, which redis-py honours), or None."""
    try:
        parts = urlsplit(url.strip())
        query = parse_qs(parts.query)
    except ValueError:
        return None
    if parts.password:
        return parts.password
    return next((value for value in query.get("password", []) if value), None)


def masked_url(text: str) -> str:
    """`text` with every URL password replaced by `***`, for messages and logs: the user-info
    password (`//user:pw@`, also when the scheme is mistyped) and `password=` in a query."""
    text = _USERINFO_PASSWORD.sub(rf"\1{_MASK}@", text)
    return _QUERY_PASSWORD.sub(rf"\1{_MASK}", text)


_USERINFO_PASSWORD = re.compile(r"(//[^/@:\s]*:)[^@\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&;]password=)[^&#\s]*", re.IGNORECASE)
