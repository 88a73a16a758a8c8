"""``/api`` routes: parse the request, call the backend, shape the response. No rules here.

Routes are ``async`` (bodies are read from the ASGI stream) and run each backend
call, which blocks on SQLite, in the worker thread pool: the event loop keeps
serving other requests, injected delays and control routes meanwhile.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plume_emulator.bodies import body_schema, read_json
from plume_emulator.lab import caller
from plume_emulator.models import (
    CheckpointBody,
    ClaimBody,
    CustomerPatch,
    RegisterBody,
    RenameBody,
)
from plume_emulator.rules import parse_bool

router = APIRouter(prefix="/api", tags=["plume"])

CUSTOMER = "/Customers/{customerId}"
LOCATION = CUSTOMER + "/locations/{locationId}"


@router.post("/Customers/register", openapi_extra=body_schema(RegisterBody))
async def register(request: Request) -> Response:
    """Register a customer (and its first location)."""
    lab, who = caller(request)
    body = await read_json(request, RegisterBody, missing_status=400)
    return JSONResponse(await run_in_threadpool(lab.backend.register_customer, who, body))


@router.get(CUSTOMER)
async def get_customer(request: Request, customerId: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(await run_in_threadpool(lab.backend.get_customer, who, customerId))


@router.patch(CUSTOMER, openapi_extra=body_schema(CustomerPatch))
async def patch_customer(request: Request, customerId: str) -> Response:
    lab, who = caller(request)
    body = await read_json(request, CustomerPatch)
    return JSONResponse(await run_in_threadpool(lab.backend.update_customer, who, customerId, body))


@router.delete(CUSTOMER)
async def delete_customer(request: Request, customerId: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(await run_in_threadpool(lab.backend.delete_customer, who, customerId))


@router.get(CUSTOMER + "/locations")
async def list_locations(request: Request, customerId: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(await run_in_threadpool(lab.backend.list_locations, who, customerId))


@router.get(LOCATION)
async def get_location(request: Request, customerId: str, locationId: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(
        await run_in_threadpool(lab.backend.get_location, who, customerId, locationId)
    )


@router.delete(LOCATION, status_code=204)
async def delete_location(request: Request, customerId: str, locationId: str) -> Response:
    lab, who = caller(request)
    await run_in_threadpool(lab.backend.delete_location, who, customerId, locationId)
    return Response(status_code=204)


@router.post(LOCATION + "/onboardingCheckpoint", openapi_extra=body_schema(CheckpointBody))
async def onboarding_checkpoint(request: Request, customerId: str, locationId: str) -> Response:
    lab, who = caller(request)
    body = await read_json(request, CheckpointBody)
    return JSONResponse(
        await run_in_threadpool(
            lab.backend.set_checkpoint, who, customerId, locationId, body.checkpoint
        )
    )


@router.get("/Partners/customers/search/{value}")
async def search_customers(
    request: Request,
    value: str,
    field: str = Query("accountId"),
    exact_match: str | None = Query(None, alias="exactMatch"),
    starts_with: str | None = Query(None, alias="startsWith"),
) -> Response:
    lab, who = caller(request)
    exact = parse_bool("exactMatch", exact_match, True)
    prefix = parse_bool("startsWith", starts_with, True)
    return JSONResponse(
        await run_in_threadpool(lab.backend.search_customers, who, value, field, exact, prefix)
    )


@router.post(LOCATION + "/nodes", openapi_extra=body_schema(ClaimBody))
async def claim_node(request: Request, customerId: str, locationId: str) -> Response:
    """Claim a node; an already-claimed-here node answers 204 (or 200 with nothing claimed)."""
    lab, who = caller(request)
    body = await read_json(request, ClaimBody)
    claimed = await run_in_threadpool(
        lab.backend.claim_node, who, customerId, locationId, body.serialNumber, body.nickname
    )
    if claimed is None:
        if lab.options.already_claimed_status == 204:
            return Response(status_code=204)
        return JSONResponse({"claimed": []})
    return JSONResponse({"claimed": claimed})


@router.get(LOCATION + "/nodes")
async def list_nodes(request: Request, customerId: str, locationId: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(
        {"nodes": await run_in_threadpool(lab.backend.list_nodes, who, customerId, locationId)}
    )


@router.put(LOCATION + "/nodes/{nodeId}", openapi_extra=body_schema(RenameBody))
async def rename_node(request: Request, customerId: str, locationId: str, nodeId: str) -> Response:
    lab, who = caller(request)
    body = await read_json(request, RenameBody)
    return JSONResponse(
        await run_in_threadpool(
            lab.backend.rename_node, who, customerId, locationId, nodeId, body.nickname
        )
    )


@router.delete(LOCATION + "/nodes/{serialNumber}", status_code=204)
async def unclaim_node(
    request: Request, customerId: str, locationId: str, serialNumber: str
) -> Response:
    lab, who = caller(request)
    await run_in_threadpool(lab.backend.unclaim_node, who, customerId, locationId, serialNumber)
    return Response(status_code=204)


@router.get("/Partners/nodes/{serialNumber}")
async def lookup_node(request: Request, serialNumber: str) -> Response:
    lab, who = caller(request)
    return JSONResponse(await run_in_threadpool(lab.backend.lookup_node, who, serialNumber))
