"""Turning a raw request body into a model, with a clear 4xx for every way it can be wrong.

FastAPI's own body handling answers its 422 shape; the API parses bodies here
instead so wrong content types, non-UTF-8, malformed JSON, unknown fields and
missing fields all get the Plume error body.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from plume_emulator.errors import EmulatorError, bad_request, invalid

M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, model: type[M], *, missing_status: int = 422) -> M:
    """Parse the body as ``model``; ``missing_status`` is the code for absent required fields."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise EmulatorError(
            415,
            f"{request.method} {request.url.path} needs Content-Type: application/json "
            f"(got {content_type or 'none'})",
            "UnsupportedMediaType",
        )
    raw = await request.body()
    if not raw.strip():
        raise bad_request("request body is empty; send a JSON object", "MissingBody")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise bad_request("request body is not valid UTF-8", "InvalidEncoding") from err
    except ValueError as err:
        raise bad_request(f"request body is not valid JSON: {err}", "MalformedJson") from err
    if not isinstance(data, dict):
        raise invalid(f"request body must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _translate(err, missing_status) from err


def _translate(err: ValidationError, missing_status: int) -> EmulatorError:
    problems = err.errors(include_url=False, include_input=False)
    missing = [_field(p["loc"]) for p in problems if p["type"] == "missing"]
    if missing:
        return EmulatorError(
            missing_status,
            f"required fields are missing: {', '.join(missing)}",
            "BadRequest" if missing_status == 400 else "ValidationError",
        )
    unknown = [_field(p["loc"]) for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        return invalid(f"unknown fields in request body: {', '.join(unknown)}")
    details = "; ".join(f"{_field(p['loc'])}: {p['msg']}" for p in problems)
    return invalid(f"input validation failed: {details}")


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` declaring ``model`` as the JSON request body (docs and fuzzing)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
