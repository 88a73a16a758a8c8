"""Application factory: wires storage, backend, tokens, WAF, faults and stats into one ASGI app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plume_emulator import credentials, routes_api, routes_control, routes_token, seed
from plume_emulator.auth import TokenService
from plume_emulator.backend import PlumeBackend
from plume_emulator.db import Database
from plume_emulator.errors import EmulatorError, OAuthError, default_name, error_body
from plume_emulator.faults import Faults
from plume_emulator.gateway import Gateway
from plume_emulator.lab import Lab
from plume_emulator.options import EmulatorOptions
from plume_emulator.stats import Stats
from plume_emulator.waf import Waf


def create_app(options: EmulatorOptions | None = None) -> Gateway:
    """Open (or create and seed) the lab database and return the ASGI app serving it."""
    options = options or EmulatorOptions()
    if options.reset:
        Database.remove_files(options.db_path)
    inventory = seed.load_inventory(options.inventory) if options.inventory else None
    db = Database(options.db_path)
    try:
        seed.prepare(db, inventory)
        secret = credentials.token_secret(db)
    except BaseException:
        db.close()
        raise
    lab = Lab(
        options=options,
        db=db,
        backend=PlumeBackend(db, options),
        tokens=TokenService(secret, options.token_ttl, options.clock),
        waf=Waf(options.waf_limit, options.waf_window, options.clock),
        faults=Faults(options.fault_seed),
        stats=Stats(),
    )
    api = FastAPI(
        title="Plume Cloud emulator",
        version="1.0",
        description="A local Plume Cloud for tests, benchmarks and labs.",
    )
    api.state.lab = lab
    _install_handlers(api)
    api.include_router(routes_token.router)
    api.include_router(routes_api.router)
    api.include_router(routes_control.router)
    routes = [*routes_token.router.routes, *routes_api.router.routes]
    return Gateway(api, lab, routes)


def _install_handlers(api: FastAPI) -> None:
    """Every error leaves as the Plume error body (or Okta's, on the token endpoint)."""

    async def emulator_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, EmulatorError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    async def oauth_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        body = error_body(exc.status_code, default_name(exc.status_code), message)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        body = error_body(422, "ValidationError", f"input validation failed: {details}")
        return JSONResponse(body, status_code=422)

    async def server_error(request: Request, _: Exception) -> Response:
        message = f"internal error while handling {request.method} {request.url.path}"
        return JSONResponse(error_body(500, "InternalServerError", message), status_code=500)

    api.add_exception_handler(EmulatorError, emulator_error)
    api.add_exception_handler(OAuthError, oauth_error)
    api.add_exception_handler(StarletteHTTPException, http_error)
    api.add_exception_handler(RequestValidationError, validation_error)
    api.add_exception_handler(Exception, server_error)
