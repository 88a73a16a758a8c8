"""The ASGI layer in front of the API: what sits between a client and Plume's servers.

In order, for each HTTP request:

1. path hygiene (encoded slashes, dot segments, non-UTF-8) and the 64 KiB body
   limit, for every route;
2. for ``/api`` and ``/oauth2`` only ("metered" routes): stats by route
   template, the WAF, the configured latency, then fault injection.

``/_emulator`` control routes skip step 2, so tests can always inspect and
repair a lab. Written as raw ASGI (no BaseHTTPMiddleware) to keep per-request
overhead small.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from plume_emulator.errors import EmulatorError, default_name, error_bytes
from plume_emulator.faults import BODILESS_STATUSES
from plume_emulator.lab import Lab
from plume_emulator.models import FaultRuleBody

UNMATCHED = "<unmatched>"


def is_metered(path: str) -> bool:
    """True for the routes a real cloud would rate-limit: the API and the token endpoint."""
    return path.startswith(("/api/", "/oauth2/")) or path in ("/api", "/oauth2")


def path_problem(scope: Scope) -> str | None:
    """Why a request path is unacceptable (encoded slash, dot segment, bad UTF-8), or None."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    raw = raw.split(b"?", 1)[0]
    for segment in raw.split(b"/"):
        decoded = unquote_to_bytes(segment)
        if b"/" in decoded or b"\\" in decoded:
            return "path segments must not contain encoded slashes"
        if decoded in (b".", b".."):
            return "path segments must not be '.' or '..'"
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return "the request path is not valid UTF-8"
        if not text.isprintable():
            return "the request path contains control characters"
    return None


class BodyTooLarge(EmulatorError):
    """Raised from ``receive`` when a streamed body passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes", "PayloadTooLarge")


@dataclass
class Captured:
    """A response recorded instead of sent (``apply: true`` faults)."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON response."""
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class Gateway:
    """The ASGI application uvicorn serves: edge behaviour and test hooks around the FastAPI app."""

    def __init__(self, api: FastAPI, lab: Lab, routes: Sequence[BaseRoute]) -> None:
        self.api = api
        self.lab = lab
        self._routes = [
            (route.path_regex, route.methods or set(), route.path)
            for route in routes
            if isinstance(route, Route)
        ]
        self._latency = lab.options.latency_ms / 1000.0
        self._limit = lab.options.max_body_bytes

    def close(self) -> None:
        """Release the database connections."""
        self.lab.close()

    def template(self, scope: Scope) -> str:
        """The route template a request maps to (what stats count and fault rules name)."""
        path: str = scope["path"]
        method: str = scope["method"]
        partial = None
        for regex, methods, template in self._routes:
            if regex.match(path):
                if method in methods or (method == "HEAD" and "GET" in methods):
                    return template
                partial = partial or template
        return partial or UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        metered = is_metered(path)
        template = self.template(scope) if metered else UNMATCHED
        if not metered:
            await self._serve(scope, receive, send, method, template, metered=False)
            return
        send = self._counting(send, method, template)
        started = self.lab.stats.begin()
        try:
            await self._serve(scope, receive, send, method, template, metered=True)
        finally:
            self.lab.stats.end(started)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        method: str,
        template: str,
        *,
        metered: bool,
    ) -> None:
        path: str = scope["path"]
        problem = path_problem(scope)
        if problem is not None:
            await send_bytes(send, 400, error_bytes(400, "InvalidPath", problem))
            return
        length = _content_length(scope)
        if length is not None and length > self._limit:
            error = BodyTooLarge(self._limit)
            await send_bytes(send, 413, json.dumps(error.body()).encode())
            return
        receive = self._limited(receive)
        if metered:
            client = scope.get("client")
            retry_after = self.lab.waf.admit(client[0] if client else "unknown")
            if retry_after is not None:
                message = (
                    f"request blocked by the web application firewall: more than "
                    f"{self.lab.waf.limit} requests in {self.lab.waf.window:g} s from this "
                    f"address; retry after {retry_after} s"
                )
                await send_bytes(
                    send,
                    403,
                    error_bytes(403, "RequestBlocked", message),
                    [(b"retry-after", str(retry_after).encode())],
                )
                return
            if self._latency:
                await asyncio.sleep(self._latency)
            rule = self.lab.faults.pick(method, template, path)
            if rule is not None:
                self.lab.stats.fault_injected()
                await self._inject(rule, scope, receive, send)
                return
        await self.api(scope, receive, send)

    def _counting(self, send: Send, method: str, template: str) -> Send:
        stats = self.lab.stats

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.record(method, template, int(message["status"]))
            await send(message)

        return counting_send

    def _limited(self, receive: Receive) -> Receive:
        limit = self._limit
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return limited_receive

    async def _capture(self, scope: Scope, receive: Receive) -> Captured:
        captured = Captured()

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")

        await self.api(scope, receive, capture_send)
        return captured

    async def _inject(
        self, rule: FaultRuleBody, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer ``rule`` instead of (or, with ``apply``, after) the real operation.

        A delay holds a request that has arrived whole: its body is read before the wait, so a
        client that gives up meanwhile does not undo it, and a delay-only rule performs the
        operation late (as a server does that has read the request), POST or DELETE alike."""
        captured = await self._capture(scope, receive) if rule.apply else None
        if rule.delay_ms:
            if captured is None:
                receive = await _received(receive)
            await asyncio.sleep(rule.delay_ms / 1000.0)
        extra = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in rule.headers.items()
        ]
        if rule.drop:
            await _drop(send, captured, rule.status, extra)
            return
        if rule.status is None:
            if captured is None:
                await self.api(scope, receive, send)
            else:
                await _replay(send, captured)
            return
        if rule.status in BODILESS_STATUSES:
            await send({"type": "http.response.start", "status": rule.status, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        body = _fault_body(scope["path"], scope["method"], rule.status, applied=rule.apply)
        await send_bytes(send, rule.status, body, extra)


async def _received(receive: Receive) -> Receive:
    """Read the request's body now; the ``receive`` returned hands it over again, then
    whatever the connection says next (a body past the limit fails there, as it would have)."""
    messages: list[Message] = []
    too_large: BodyTooLarge | None = None
    try:
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
    except BodyTooLarge as err:
        too_large = err

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        if too_large is not None:
            raise too_large
        return await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _fault_body(path: str, method: str, status: int, *, applied: bool) -> bytes:
    what = "after performing the operation" if applied else "instead of the operation"
    message = f"fault injected by the emulator {what} for {method} {path}"
    if path.startswith("/oauth2"):
        error = "invalid_client" if status == 401 else "temporarily_unavailable"
        return json.dumps({"error": error, "error_description": message}).encode()
    return error_bytes(status, default_name(status), message)


async def _replay(send: Send, captured: Captured) -> None:
    await send(
        {"type": "http.response.start", "status": captured.status, "headers": captured.headers}
    )
    await send({"type": "http.response.body", "body": bytes(captured.body)})


async def _drop(
    send: Send,
    captured: Captured | None,
    status: int | None,
    extra: list[tuple[bytes, bytes]],
) -> None:
    """Promise a body, send part of it and stop: the server then closes the connection."""
    if captured is not None:
        code = captured.status if captured.status not in (204, 304) else 200
        body = bytes(captured.body) or b'{"dropped": true}'
    else:
        code = status or 200
        body = b'{"claimed": [{"serialNumber": "partial response'
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body) + 512).encode()),
        *extra,
    ]
    message: dict[str, Any] = {"type": "http.response.start", "status": code, "headers": headers}
    await send(message)
    await send(
        {"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True}
    )
