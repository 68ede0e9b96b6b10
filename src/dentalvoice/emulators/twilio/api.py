"""The REST surface: `/2010-04-01/Accounts/{AccountSid}/Calls[/{Sid}].json`, raw ASGI.

Each request is authenticated (HTTP Basic with the account SID and auth token, and the path's
account must be that account), then checked against Twilio's OpenAPI spec with openapi-core,
then handed to the emulator. Failures answer in Twilio's error shape
(`{"code", "message", "more_info", "status"}`).

Written against ASGI directly: web frameworks stay at the service's edges
(tests/test_architecture.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from dentalvoice.emulators.twilio.resources import call_json, calls_page
from dentalvoice.emulators.twilio.rules import ApiError, last, spec_error
from dentalvoice.serving import answer_lifespan

if TYPE_CHECKING:
    from dentalvoice.emulators.twilio.emulator import TwilioEmulator

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls\.json$")
_CALL = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Calls/(?P<sid>[^/]+)\.json$")
_JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]
_MAX_BODY_BYTES = 1024 * 1024
# Not Twilio's: what the emulator recorded per call, with monotonic times (CLOCK_MONOTONIC is
# shared by every process of the machine), for benchmarks that run the emulator apart.
RECORDS_PATH = "/_emulator/calls"


def _summary(call: Any) -> dict[str, Any]:
    return {
        "sid": call.sid,
        "to": call.to,
        "status": call.status,
        "arrived_at": call.arrived_at,
        "early": call.early,
        "queue_time_ms": call.queue_time_ms,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
    }


async def handle(emulator: TwilioEmulator, scope: Scope, receive: Receive, send: Send) -> None:
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
    arrived_at = time.monotonic()
    try:
        status, body = await _dispatch(emulator, scope, receive, arrived_at)
    except ApiError as exc:
        status, body = exc.status, exc.body()
    extra = [(b"www-authenticate", b'Basic realm="Twilio API"')] if status == 401 else []
    await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS + extra})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _dispatch(
    emulator: TwilioEmulator, scope: Scope, receive: Receive, arrived_at: float
) -> tuple[int, Any]:
    path = str(scope["path"])
    method = str(scope["method"]).upper()
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    if path == RECORDS_PATH and method == "GET":
        _authenticate(emulator, scope, emulator.account_sid)
        return 200, [_summary(call) for call in emulator.calls.values()]
    match = _CALLS.match(path) or _CALL.match(path)
    if match is None:
        raise ApiError(404, 20404, f"The requested resource {path} was not found")
    authorization = _authenticate(emulator, scope, match.group("account"))
    if method not in {"GET", "POST"}:
        raise ApiError(405, 20004, f"Method {method} not allowed")
    body = await _read_body(receive)
    collection, single = _CALLS.match(path), _CALL.match(path)
    early = None
    # Checks take turns in arrival order (asyncio locks are FIFO), and a create takes its CPS
    # slot right after its check, before yielding: creates queue in the order they arrived.
    async with emulator.request_lock:
        if collection is not None and method == "POST":
            early = emulator.note_create_arrival(arrived_at)
        # In a worker thread: a check takes 10-20 ms of CPU (the first one also loads the
        # spec), which would otherwise stall Media Stream pacing on this loop.
        problems = await asyncio.to_thread(
            lambda: emulator.spec.check(
                method=method, path=path, authorization=authorization, body=body, query=query
            )
        )
    if problems:
        raise spec_error(problems)
    form = _form(body)
    if collection is not None:
        if method == "POST":
            record = await emulator.create_call(form, arrived_at=arrived_at, early=early)
            return 201, call_json(record)
        return 200, _list(emulator, query)
    assert single is not None
    sid = single.group("sid")
    if method == "POST":
        return 200, call_json(await emulator.update_call(sid, form))
    return 200, call_json(emulator.fetch_call(sid))


def _authenticate(emulator: TwilioEmulator, scope: Scope, path_account: str) -> str:
    headers: dict[str, str] = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]
    }
    authorization = headers.get("authorization", "")
    scheme, _, encoded = authorization.partition(" ")
    username = password = ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, _, password = decoded.partition(":")
    valid = (
        hmac.compare_digest(username.encode(), emulator.account_sid.encode())
        and hmac.compare_digest(password.encode(), emulator.auth_token.encode())
        and path_account == emulator.account_sid
    )
    if not valid:
        raise ApiError(
            401,
            20003,
            "Authenticate",
            detail="Your AccountSid or AuthToken was incorrect.",
        )
    return authorization


def _list(emulator: TwilioEmulator, query: str) -> Any:
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    calls = emulator.list_calls(
        to=last(params, "To"), from_=last(params, "From"), status=last(params, "Status")
    )
    page_size = min(max(int(last(params, "PageSize") or 50), 1), 1000)
    page = max(int(last(params, "Page") or 0), 0)
    kept = urlencode([(k, v) for k, v in parse_qsl(query) if k not in {"PageSize", "Page"}])
    return calls_page(emulator.account_sid, calls, page=page, page_size=page_size, query=kept)


def _form(body: bytes) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, []).append(value)
    return form


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY_BYTES:
            raise ApiError(413, 413, "Request body too large")
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)
