"""Access tokens: HS256 JWTs signed with the lab's secret, and the Bearer check.

The secret lives in the database, so tokens survive an emulator restart just
like the rest of the lab. Verified tokens are cached (bounded) because every
API call checks one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from plume_emulator.errors import unauthorized
from plume_emulator.options import Clock

ADMIN_ROLE = "role:partnerIdAdmin"
_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Principal:
    """Who is calling: the partner a token speaks for (None if the token carries none)."""

    partner_id: str | None
    client_id: str
    expires_at: float
    scope: str


def b64url(data: bytes) -> str:
    """Base64url without padding (JWT encoding)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ``ValueError`` on garbage."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise ValueError("not base64url") from err


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``Basic base64(id:secret)`` -> (id, secret); None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        return None
    return client_id, secret


class TokenService:
    """Issues and verifies the emulator's JWT access tokens."""

    def __init__(self, secret: bytes, ttl: int, clock: Clock) -> None:
        self._secret = secret
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, Principal] = {}

    def _sign(self, signing_input: bytes) -> str:
        return b64url(hmac.new(self._secret, signing_input, hashlib.sha256).digest())

    def encode(self, claims: dict[str, Any]) -> str:
        """Sign arbitrary claims (the control route uses this to mint odd tokens)."""
        header = b64url(
            json.dumps({"alg": "HS256", "typ": "JWT", "kid": "plume-emulator"}).encode()
        )
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode()
        return f"{header}.{payload}.{self._sign(signing_input)}"

    def issue(
        self,
        client_id: str,
        partner_id: str | None,
        scope: str,
        ttl: int | None = None,
    ) -> tuple[str, int]:
        """A new token for ``client_id``; returns (token, expires_in)."""
        now = int(self._clock())
        expires_in = self.ttl if ttl is None else ttl
        claims: dict[str, Any] = {
            "ver": 1,
            "jti": f"AT.{secrets.token_urlsafe(16)}",
            "iss": "plume-emulator",
            "aud": "api://plume",
            "iat": now,
            "exp": now + expires_in,
            "cid": client_id,
            "sub": client_id,
            "scope": scope,
            "scp": scope.split(),
        }
        if partner_id is not None:
            claims["partnerId"] = partner_id
        return self.encode(claims), expires_in

    def verify(self, authorization: str | None) -> Principal:
        """Check an ``Authorization`` header (``Bearer <jwt>`` or the bare token); 401 otherwise."""
        if not authorization:
            raise unauthorized("Authorization header is missing: send 'Bearer <access_token>'")
        scheme, _, rest = authorization.strip().partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else authorization.strip()
        principal = self._cache.get(token)
        if principal is None:
            principal = self._decode(token)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = principal
        if principal.expires_at <= self._clock():
            raise unauthorized(
                f"access token for client {principal.client_id} expired; fetch a new token"
            )
        return principal

    def _decode(self, token: str) -> Principal:
        parts = token.split(".")
        if len(parts) != 3:
            raise unauthorized("access token is not a JWT (expected header.payload.signature)")
        if not token.isascii():
            raise unauthorized("access token contains non-ASCII characters")
        signing_input = f"{parts[0]}.{parts[1]}".encode()
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            raise unauthorized("access token signature is invalid (not issued by this cloud)")
        try:
            claims = json.loads(b64url_decode(parts[1]))
        except ValueError as err:
            raise unauthorized("access token payload is not valid JSON") from err
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if not isinstance(exp, int | float):
            raise unauthorized("access token carries no exp claim")
        partner = claims.get("partnerId")
        return Principal(
            partner_id=partner if isinstance(partner, str) else None,
            client_id=str(claims.get("sub", "")),
            expires_at=float(exp),
            scope=str(claims.get("scope", "")),
        )
