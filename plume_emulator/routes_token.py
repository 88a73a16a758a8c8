"""``POST /oauth2/token``: the client-credentials grant as Plume's Okta server answers it.

The client check reads SQLite, so it runs in the worker thread pool, off the event loop.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plume_emulator.auth import ADMIN_ROLE, parse_basic
from plume_emulator.credentials import authenticate_client
from plume_emulator.errors import OAuthError
from plume_emulator.lab import lab_of

router = APIRouter(tags=["oauth2"])

FORM = "application/x-www-form-urlencoded"
NO_CACHE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
OTHER_GRANTS = frozenset({"authorization_code", "password", "refresh_token", "implicit"})


async def _form(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM:
        raise OAuthError(400, "invalid_request", f"the token request must be {FORM}")
    raw = await request.body()
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as err:
        raise OAuthError(400, "invalid_request", "the token request body is malformed") from err
    repeated = [key for key, values in parsed.items() if len(values) > 1]
    if repeated:
        raise OAuthError(400, "invalid_request", f"parameter {repeated[0]} is repeated")
    return {key: values[0] for key, values in parsed.items()}


@router.post("/oauth2/token")
async def token(request: Request) -> Response:
    """Issue an access token for ``partnerId:<id> role:partnerIdAdmin``."""
    lab = lab_of(request)
    form = await _form(request)
    credentials = parse_basic(request.headers.get("authorization"))
    if credentials is None and "client_id" in form:
        credentials = (form["client_id"], form.get("client_secret", ""))
    partner_id = (
        await run_in_threadpool(authenticate_client, lab.db, *credentials) if credentials else None
    )
    if credentials is None or partner_id is None:
        raise OAuthError(
            401,
            "invalid_client",
            "Client authentication failed. Either the client or the client credentials are "
            "invalid (send Authorization: Basic base64(clientId:clientSecret)).",
        )
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError(400, "invalid_request", "The grant_type parameter is missing.")
    if grant in OTHER_GRANTS:
        raise OAuthError(
            400,
            "invalid_grant",
            f"The grant_type {grant} is not allowed for client {credentials[0]}; "
            "use client_credentials.",
        )
    if grant != "client_credentials":
        raise OAuthError(
            400, "unsupported_grant_type", f"The authorization grant type {grant} is not supported."
        )
    expected = f"partnerId:{partner_id} {ADMIN_ROLE}"
    scope = form.get("scope", "")
    if set(scope.split()) != set(expected.split()) or len(scope.split()) != 2:
        raise OAuthError(
            400,
            "invalid_scope",
            f"The requested scope {scope!r} is invalid, unknown, or malformed; "
            f"client {credentials[0]} may request {expected!r}.",
        )
    access_token, expires_in = lab.tokens.issue(credentials[0], partner_id, expected)
    lab.stats.token_issued()
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "access_token": access_token,
            "scope": expected,
        },
        headers=NO_CACHE,
    )
