"""Authentication as an `httpx.Auth` flow: Plume's OAuth client-credentials token, or a
pre-issued token sent as-is.

The OAuth token is fetched lazily on the first call, cached until 30 s before it expires, and
shared process-wide by every client with the same token URL, credentials and partner (the
dynamic-provider host runs several threads; they must not each fetch a token). A 401 from the
API refreshes the token once and resends the request once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from plume_provider.client._error_mapping import token_url_of
from plume_provider.client._redaction import logger, register_secret
from plume_provider.client.errors import AuthenticationError
from plume_provider.client.hints import TOKEN_HINT
from plume_provider.client.operations import Operation
from plume_provider.client.settings import PlumeSettings

__all__ = ["PlumeAuth", "TokenEndpointAnswered", "clear_token_cache"]

REFRESH_MARGIN_SECONDS = 30.0
DEFAULT_TOKEN_TTL_SECONDS = 300.0

monotonic = time.monotonic
wall_clock = time.time


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float


class _TokenSlot:
    """The cached token of one set of credentials, and the lock that serialises fetching it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: _Token | None = None

    def valid(self) -> str | None:
        token = self.token
        if token is not None and monotonic() < token.refresh_at:
            return token.value
        return None


_slots: dict[str, _TokenSlot] = {}
_slots_lock = threading.Lock()


def _slot_for(key: str) -> _TokenSlot:
    with _slots_lock:
        slot = _slots.get(key)
        if slot is None:
            slot = _slots[key] = _TokenSlot()
        return slot


def clear_token_cache() -> None:
    """Forget every cached token (tests; credential rotation)."""
    with _slots_lock:
        _slots.clear()


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim (Unix seconds) of a JWT, read without verification; None if absent."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


class TokenEndpointAnswered(Exception):
    """The token endpoint answered something other than a token (raised out of `auth_flow`).

    Only `_retry.send_with_retries` catches it: it maps `response` with `make_error`, waits
    and retries like an API call (the API request itself was not sent), or raises the
    `PlumeError` that names the token endpoint.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"token endpoint answered HTTP {response.status_code}")
        self.response = response


def _parse_token(response: httpx.Response) -> _Token:
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    access_token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(access_token, str) or not access_token:
        raise AuthenticationError(
            "fetching an OAuth token failed",
            status=response.status_code,
            method=response.request.method,
            path=response.request.url.path,
            api_message=(
                f"the token endpoint {token_url_of(response.request)} answered without an "
                "access_token"
            ),
            hint=TOKEN_HINT,
            operation=Operation.FETCH_TOKEN,
        )
    register_secret(access_token)
    now = monotonic()
    lifetimes: list[float] = []
    expires_in = body.get("expires_in") if isinstance(body, dict) else None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        lifetimes.append(float(expires_in))
    exp = _jwt_expiry(access_token)
    if exp is not None:
        lifetimes.append(exp - wall_clock())
    ttl = min(lifetimes) if lifetimes else DEFAULT_TOKEN_TTL_SECONDS
    margin = min(REFRESH_MARGIN_SECONDS, max(ttl, 0.0) / 2)
    return _Token(access_token, now + ttl - margin)


class PlumeAuth(httpx.Auth):
    """Sets `Authorization` on every API request; OAuth tokens are cached process-wide."""

    requires_response_body = True

    def __init__(self, settings: PlumeSettings) -> None:
        settings.require_usable()
        self._static: str | None = None
        self._slot: _TokenSlot | None = None
        if settings.token is not None:
            self._static = settings.token.get_secret_value()
            return
        basic = settings.basic_credentials()
        assert basic is not None
        assert settings.partner_id is not None
        self._token_url = settings.token_url
        self._token_headers = {
            "Authorization": basic,
            "Content-Type": "application/x-www-form-urlencoded",
            "Cache-Control": "no-cache",
            "Accept": "application/json",
        }
        self._token_body = urlencode(
            {
                "grant_type": "client_credentials",
                "scope": f"partnerId:{settings.partner_id} role:partnerIdAdmin",
            }
        ).encode()
        key = "\0".join((settings.token_url, basic, settings.partner_id))
        self._slot = _slot_for(hashlib.sha256(key.encode()).hexdigest())

    @property
    def static(self) -> bool:
        """True when a pre-issued token is sent as-is (no refresh possible)."""
        return self._static is not None

    def __repr__(self) -> str:
        return f"PlumeAuth(mode={'static' if self.static else 'oauth'!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._static is not None:
            request.headers["Authorization"] = self._static
            yield request
            return
        assert self._slot is not None
        token = self._slot.valid()
        if token is None:
            token = yield from self._fetch(stale=None)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        logger.warning(
            "%s %s answered 401; refreshing the token and resending once",
            request.method,
            request.url.path,
        )
        token = yield from self._fetch(stale=token)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _fetch(self, *, stale: str | None) -> Generator[httpx.Request, httpx.Response, str]:
        """Return a valid token, fetching one unless another thread already did."""
        assert self._slot is not None
        with self._slot.lock:
            current = self._slot.valid()
            if current is not None and current != stale:
                return current
            if stale is not None and self._slot.token is not None:
                self._slot.token = None
            request = httpx.Request(
                "POST", self._token_url, headers=self._token_headers, content=self._token_body
            )
            response = yield request
            if response.status_code != 200:
                raise TokenEndpointAnswered(response)
            token = _parse_token(response)
            self._slot.token = token
            logger.debug("fetched an OAuth token from %s", request.url.path)
            return token.value
