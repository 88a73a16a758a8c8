"""Turning a raw request body into a model, with a clear 4xx for every way it can be wrong.

FastAPI's own body handling answers its 422 shape; the API parses bodies here
instead so wrong content types, non-UTF-8, malformed JSON, unknown fields and
missing fields all get the Plume error body.

JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused before it is parsed:
``json.loads`` recurses once per level and would raise ``RecursionError`` (a
500) somewhere past ~1,000 levels. No Plume body nests more than a few levels.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from plume_emulator.errors import EmulatorError, bad_request, invalid

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a request body may have."""

# A whole string (escapes included; an unterminated one runs to the end, so the scan stays
# linear), or one bracket. Brackets inside strings are thereby skipped.
_NESTING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


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
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad_request("request body is not valid UTF-8", "InvalidEncoding") from err
    if nests_deeper_than(text, MAX_JSON_DEPTH):
        raise bad_request(
            f"request body nests arrays/objects deeper than {MAX_JSON_DEPTH} levels "
            "(the emulator's JSON depth limit); send a flatter body",
            "JsonTooDeep",
        )
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:
        raise bad_request(f"request body is not valid JSON: {err}", "MalformedJson") from err
    if not isinstance(data, dict):
        raise invalid(f"request body must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _translate(err, missing_status) from err


def nests_deeper_than(text: str, limit: int) -> bool:
    """True when the JSON ``text`` opens more than ``limit`` arrays/objects inside each other.

    Brackets inside strings do not count. Malformed JSON is measured as far as it goes (the
    parser rejects it afterwards either way).
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _NESTING_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


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
