"""The HTTP surface, raw ASGI: every API request goes through one pipeline.

1. Injected faults (`faults`) answer first: a status, a 429, or a hang.
2. The route table (`routes.ROUTES`) picks the operation; an unknown one is NestJS's 404.
3. The Bearer token is authenticated (401), its kind checked against the operation's
   `security` (401 "authClass"), and counted against the rate limit (429). From here on
   every answer carries the `X-RateLimit-*` headers.
4. The request is checked against GHL's OpenAPI file for the operation (422 naming fields;
   a wrong or missing `Version` header is one of them).
5. The handler answers, raising `GhlError` for 400/403 cases.

`/_emulator/...` goes to `admin` instead and is not logged. Written against ASGI directly:
web frameworks stay at the service's edges (tests/test_architecture.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from dentalvoice.emulators.ghl import admin
from dentalvoice.emulators.ghl.auth import Principal
from dentalvoice.emulators.ghl.errors import (
    WRONG_AUTH_CLASS,
    WRONG_SCOPE,
    GhlError,
    rate_limited,
    unauthorized,
    unprocessable,
)
from dentalvoice.emulators.ghl.faults import Fault
from dentalvoice.emulators.ghl.records import RequestRecord
from dentalvoice.emulators.ghl.routes import ROUTES
from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route
from dentalvoice.serving import answer_lifespan, watch_disconnect

if TYPE_CHECKING:
    from dentalvoice.emulators.ghl.emulator import GhlEmulator

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = (b"content-type", b"application/json; charset=utf-8")


async def handle(emulator: GhlEmulator, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI connection scope."""
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.close", "code": 1008})
        return
    if scope["type"] != "http":
        return
    method = str(scope["method"]).upper()
    path = str(scope["path"])
    if path.startswith(admin.PREFIX):
        reply = await _admin(emulator, scope, receive, method, path)
        await _send(send, reply)
        return
    await _api(emulator, scope, receive, send, method, path)


async def _admin(
    emulator: GhlEmulator, scope: Scope, receive: Receive, method: str, path: str
) -> Reply:
    try:
        body = await _read_body(receive, emulator.settings.max_body_bytes)
        return admin.dispatch(emulator, method, path, _query(scope), body)
    except GhlError as exc:
        return Reply(exc.status, exc.body(), exc.headers)


async def _api(
    emulator: GhlEmulator, scope: Scope, receive: Receive, send: Send, method: str, path: str
) -> None:
    arrived = emulator.clock()
    exchange = _Exchange()
    fault = emulator.faults.take(method, path)
    try:
        if fault is not None and fault.kind == "timeout":
            gave_up = RequestRecord(method, path, 0, arrived, fault=fault.id)
            if await _hang_logged(emulator, fault, receive, gave_up):
                return
            raise GhlError(fault.status, "Gateway Timeout")
        if fault is not None:
            raise _fault_error(emulator, fault, scope)
        reply = await _serve(emulator, scope, receive, method, path, exchange)
    except GhlError as exc:
        reply = Reply(exc.status, exc.body(), exc.headers)
    for name, value in exchange.rate_headers.items():
        reply.headers.setdefault(name, value)
    principal = exchange.principal
    emulator.log.add(
        RequestRecord(
            method=method,
            path=path,
            status=reply.status,
            at=arrived,
            token=principal.name if principal else None,
            location_id=principal.location_id if principal else None,
            fault=fault.id if fault else None,
        )
    )
    await _send(send, reply)


class _Exchange:
    """What the pipeline learned about a request, kept for the log and the headers."""

    def __init__(self) -> None:
        self.principal: Principal | None = None
        self.rate_headers: dict[str, str] = {}


async def _serve(
    emulator: GhlEmulator,
    scope: Scope,
    receive: Receive,
    method: str,
    path: str,
    exchange: _Exchange,
) -> Reply:
    route, params = _route(method, path)
    body = await _read_body(receive, emulator.settings.max_body_bytes)
    headers = _headers(scope)
    principal = None
    if route.access != "none":
        principal = emulator.tokens.authenticate(headers.get("authorization"))
        exchange.principal = principal
        decision = emulator.limiter.take((principal.app_id, principal.resource_id))
        exchange.rate_headers = decision.headers
        if not decision.allowed:
            raise rate_limited(decision.headers)
        _check_access(route, principal)
    query_string = bytes(scope.get("query_string", b"")).decode("latin-1")
    if emulator.settings.validate_requests:
        problems = emulator.spec.check(
            method=method, path=path, headers=headers, query=query_string, body=body
        )
        if any(p.where == "security" for p in problems):
            raise unauthorized()
        if problems:
            raise unprocessable(str(p) for p in problems)
    ctx = Ctx(
        emulator=emulator,
        principal=principal,
        params=params,
        query=_query(scope),
        body=body,
    )
    try:
        return route.handler(ctx)
    except KeyError as exc:
        if emulator.settings.validate_requests:
            raise
        # With validation off a body may lack a required field the spec would have named.
        raise unprocessable([f"{exc.args[0]}: is required"]) from None


def _route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for route in ROUTES:
        if route.method == method:
            params = route.match(path)
            if params is not None:
                return route, params
    # NestJS's answer for a route it does not have.
    raise GhlError(404, f"Cannot {method} {path}")


def _check_access(route: Route, principal: Principal) -> None:
    if route.access == "location" and principal.user_type != "Location":
        raise unauthorized(WRONG_AUTH_CLASS)
    if route.access == "company" and principal.user_type != "Company":
        raise unauthorized(WRONG_AUTH_CLASS)
    if not principal.allows(route.scope):
        raise unauthorized(WRONG_SCOPE)


def _fault_error(emulator: GhlEmulator, fault: Fault, scope: Scope) -> GhlError:
    if fault.kind != "rate_limit":
        return GhlError(fault.status, "Injected failure")
    # The 429 carries the caller's real counters, with the burst window shown as spent.
    try:
        principal = emulator.tokens.authenticate(_headers(scope).get("authorization"))
    except GhlError:
        return rate_limited({})
    return rate_limited(emulator.limiter.exhausted((principal.app_id, principal.resource_id)))


async def _hang_logged(
    emulator: GhlEmulator, fault: Fault, receive: Receive, gave_up: RequestRecord
) -> bool:
    """Hang (see `_hang`); log `gave_up` when the client leaves."""
    try:
        left = await _hang(emulator, fault, receive)
    except asyncio.CancelledError:
        # In-process clients (httpx's ASGITransport) give up by cancelling the app itself.
        emulator.log.add(gave_up)
        raise
    if left:
        emulator.log.add(gave_up)
    return left


async def _hang(emulator: GhlEmulator, fault: Fault, receive: Receive) -> bool:
    """Hold the request until the client leaves (True), or the fault ends or times out."""
    await _read_body(receive, emulator.settings.max_body_bytes)
    gone = asyncio.Event()
    watcher = asyncio.create_task(watch_disconnect(receive, gone))
    waiters = [asyncio.create_task(gone.wait()), asyncio.create_task(fault.released.wait())]
    try:
        await asyncio.wait(waiters, timeout=fault.hang_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (watcher, *waiters):
            task.cancel()
        await asyncio.gather(watcher, *waiters, return_exceptions=True)
    return gone.is_set()


def _headers(scope: Scope) -> dict[str, str]:
    return {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]
    }


def _query(scope: Scope) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    raw = bytes(scope.get("query_string", b"")).decode("latin-1")
    for key, value in parse_qsl(raw, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    return params


async def _read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise GhlError(413, "Request body too large")
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def _send(send: Send, reply: Reply) -> None:
    headers = [_JSON] + [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(reply.body).encode()})
