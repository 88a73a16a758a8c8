"""``/_emulator`` control routes for tests and benchmarks (never behind the WAF or faults).

Routes that touch SQLite (state, reset) run it in the worker thread pool, off the event loop.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plume_emulator import developer
from plume_emulator.bodies import body_schema, read_json
from plume_emulator.lab import lab_of
from plume_emulator.models import FaultsBody, MintTokenBody

router = APIRouter(prefix="/_emulator", tags=["control"])


@router.get("/health")
async def health() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/stats")
async def stats(request: Request) -> Response:
    return JSONResponse(lab_of(request).stats.snapshot())


@router.delete("/stats", status_code=204)
async def reset_stats(request: Request) -> Response:
    lab_of(request).stats.reset()
    return Response(status_code=204)


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    return JSONResponse({"rules": lab_of(request).faults.describe()})


@router.post("/faults", openapi_extra=body_schema(FaultsBody))
async def set_faults(request: Request) -> Response:
    """Replace the fault rules."""
    lab = lab_of(request)
    body = await read_json(request, FaultsBody)
    lab.faults.set(body.rules)
    return JSONResponse({"rules": lab.faults.describe()})


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> Response:
    lab_of(request).faults.clear()
    return Response(status_code=204)


@router.post("/reset", status_code=204)
async def reset(request: Request) -> Response:
    """Fresh seed data; also clears faults, stats and the WAF window."""
    await run_in_threadpool(lab_of(request).reset)
    return Response(status_code=204)


@router.get("/state")
async def state(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(developer.state, lab_of(request).db))


@router.post("/tokens", openapi_extra=body_schema(MintTokenBody))
async def mint_token(request: Request) -> Response:
    """Sign a token with chosen claims (no partnerId, already expired, another partner ...)."""
    lab = lab_of(request)
    body = await read_json(request, MintTokenBody)
    now = int(lab.options.clock())
    scope = (
        body.scope if body.scope is not None else f"partnerId:{body.partnerId} role:partnerIdAdmin"
    )
    claims: dict[str, object] = {
        "jti": f"AT.minted.{secrets.token_urlsafe(12)}",
        "iat": now,
        "exp": now + body.expires_in,
        "sub": body.client_id,
        "cid": body.client_id,
        "scope": scope,
    }
    if body.partnerId is not None:
        claims["partnerId"] = body.partnerId
    return JSONResponse(
        {
            "token_type": "Bearer",
            "access_token": lab.tokens.encode(claims),
            "expires_in": body.expires_in,
        }
    )
