"""Twilio's side of a call: the TwiML URL, status and AMD callbacks, and the media WebSocket.

Every request must carry Twilio's signature for our public URL (403 otherwise); the stream's
upgrade must also present its one-time token (refused before the handshake completes).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from loguru import logger
from prometheus_client import Counter
from starlette.websockets import WebSocketDisconnect, WebSocketState

from dentalvoice.dialer.progress import UnknownAttempt
from dentalvoice.telephony.callbacks import Callbacks
from dentalvoice.telephony.media import LiveCall, MediaHandler

router = APIRouter(prefix="/twilio", tags=["twilio"])

CALLBACKS = Counter(
    "dentalvoice_twilio_callbacks_total",
    "Twilio callbacks by kind and outcome",
    ["kind", "outcome"],
)
_XML = "application/xml"
# RFC 6455 "policy violation": what a refused stream upgrade closes with (HTTP 403).
_POLICY = 1008


def get_callbacks(request: Request) -> Callbacks:
    """The process's callback handlers, built in the lifespan (503 without Twilio settings)."""
    callbacks: Callbacks | None = request.app.state.callbacks
    if callbacks is None:
        raise HTTPException(503, "Twilio is not configured on this server")
    return callbacks


CallbacksDep = Annotated[Callbacks, Depends(get_callbacks)]


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason


async def _signed_form(request: Request, callbacks: Callbacks, kind: str) -> dict[str, str]:
    # Twilio posts application/x-www-form-urlencoded only: parsed here, without a multipart
    # dependency. Blank values are kept, since they are signed like any other.
    body = await request.body()
    try:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise _Refused(400, "body: not UTF-8 form data") from None
    if not callbacks.authentic(
        path=request.url.path,
        query=request.url.query,
        params=params,
        signature=request.headers.get("x-twilio-signature"),
    ):
        CALLBACKS.labels(kind, "bad_signature").inc()
        raise _Refused(403, "invalid Twilio signature")
    return params


def _attempt(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(hex=request.query_params.get("attempt", ""))
    except ValueError:
        raise _Refused(400, "attempt: missing or not an id") from None


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _Refused(400, f"{name}: required")
    return value


def _refusal(exc: _Refused) -> JSONResponse:
    return JSONResponse({"detail": exc.reason}, status_code=exc.status)


@router.post("/voice", response_class=Response, responses={403: {}, 400: {}})
async def voice(request: Request, callbacks: CallbacksDep) -> Response:
    """The call was answered: answer with TwiML that connects it to our media stream."""
    try:
        params = await _signed_form(request, callbacks, "voice")
        attempt_id = _attempt(request)
        call_sid = _required(params, "CallSid")
        document = await callbacks.answer(attempt_id=attempt_id, call_sid=call_sid)
    except _Refused as exc:
        return _refusal(exc)
    except UnknownAttempt:
        CALLBACKS.labels("voice", "unknown_attempt").inc()
        return _refusal(_Refused(404, "attempt: unknown"))
    CALLBACKS.labels("voice", "ok").inc()
    return Response(document, media_type=_XML)


@router.post("/status", status_code=204, responses={403: {}, 400: {}, 404: {}})
async def status(request: Request, callbacks: CallbacksDep) -> Response:
    """Call progress: initiated, ringing, answered, and the final status."""
    try:
        params = await _signed_form(request, callbacks, "status")
        attempt_id = _attempt(request)
        duration = params.get("CallDuration")
        result = await callbacks.status(
            attempt_id=attempt_id,
            call_sid=_required(params, "CallSid"),
            call_status=_required(params, "CallStatus"),
            duration_s=int(duration) if duration and duration.isdigit() else None,
        )
    except _Refused as exc:
        return _refusal(exc)
    except UnknownAttempt:
        CALLBACKS.labels("status", "unknown_attempt").inc()
        return _refusal(_Refused(404, "attempt: unknown"))
    CALLBACKS.labels("status", "applied" if result.applied else "stale").inc()
    return Response(status_code=204)


@router.post("/amd", status_code=204, responses={403: {}, 400: {}, 404: {}})
async def amd(request: Request, callbacks: CallbacksDep) -> Response:
    """The answering-machine verdict: a machine gets the voicemail, a person the agent."""
    try:
        params = await _signed_form(request, callbacks, "amd")
        attempt_id = _attempt(request)
        action = await callbacks.amd(
            attempt_id=attempt_id,
            call_sid=_required(params, "CallSid"),
            answered_by=_required(params, "AnsweredBy"),
        )
    except _Refused as exc:
        return _refusal(exc)
    except UnknownAttempt:
        CALLBACKS.labels("amd", "unknown_attempt").inc()
        return _refusal(_Refused(404, "attempt: unknown"))
    CALLBACKS.labels("amd", action.value).inc()
    return Response(status_code=204)


@router.post("/whisper", response_class=Response, responses={403: {}, 400: {}, 404: {}})
async def whisper(request: Request, callbacks: CallbacksDep) -> Response:
    """A transfer was answered: what the front desk hears before the caller is connected."""
    # The request describes the transfer's own leg (its CallSid is not the attempt's call):
    # the signed URL's attempt id is what names the transfer.
    try:
        await _signed_form(request, callbacks, "whisper")
        document = await callbacks.whisper(attempt_id=_attempt(request))
    except _Refused as exc:
        return _refusal(exc)
    except UnknownAttempt:
        CALLBACKS.labels("whisper", "unknown_attempt").inc()
        return _refusal(_Refused(404, "attempt: unknown"))
    CALLBACKS.labels("whisper", "ok").inc()
    return Response(document, media_type=_XML)


class _Channel:
    """Starlette's WebSocket as a `MediaChannel` (JSON text frames only)."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> dict[str, Any] | None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return None
            text = message.get("text")
            if text is None:
                continue  # Twilio sends text frames only; ignore anything else
            try:
                decoded = json.loads(text)
            except ValueError:
                continue
            if isinstance(decoded, dict):
                return decoded

    async def send(self, message: Mapping[str, Any]) -> None:
        await self._ws.send_text(json.dumps(message, separators=(",", ":")))

    async def close(self) -> None:
        if (
            self._ws.application_state is not WebSocketState.CONNECTED
            or self._ws.client_state is not WebSocketState.CONNECTED
        ):
            return
        # The peer may go away between the check and the close frame: that is a close too.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self._ws.close()


@router.websocket("/media/{attempt}/{token}")
async def media(websocket: WebSocket, attempt: str, token: str) -> None:
    """The call's audio. Signature and one-time token are checked before the handshake."""
    callbacks: Callbacks | None = websocket.app.state.callbacks
    handler: MediaHandler = websocket.app.state.media_handler
    signature = websocket.headers.get("x-twilio-signature")
    try:
        attempt_id = uuid.UUID(hex=attempt)
    except ValueError:
        attempt_id = None
    if (
        callbacks is None
        or attempt_id is None
        or not callbacks.authentic_stream(path=websocket.url.path, signature=signature)
    ):
        CALLBACKS.labels("media", "bad_signature").inc()
        await websocket.close(code=_POLICY)
        return
    if not await callbacks.open_stream(attempt_id=attempt_id, token=token):
        CALLBACKS.labels("media", "bad_token").inc()
        await websocket.close(code=_POLICY)
        return
    await websocket.accept()
    channel = _Channel(websocket)
    start = await _wait_for_start(channel)
    if start is None:
        return
    details = start.get("start") or {}
    call_sid = str(details.get("callSid", ""))
    stream_sid = str(start.get("streamSid") or details.get("streamSid") or "")
    parameters = {str(k): str(v) for k, v in (details.get("customParameters") or {}).items()}
    if parameters.get("attempt") != attempt_id.hex:
        CALLBACKS.labels("media", "wrong_attempt").inc()
        await channel.close()
        return
    try:
        if not await callbacks.stream_started(
            attempt_id=attempt_id, call_sid=call_sid, stream_sid=stream_sid
        ):
            await channel.close()
            return
    except UnknownAttempt:
        CALLBACKS.labels("media", "unknown_attempt").inc()
        await channel.close()
        return
    CALLBACKS.labels("media", "started").inc()
    call = LiveCall(
        attempt_id=attempt_id,
        call_sid=call_sid,
        stream_sid=stream_sid,
        parameters=parameters,
        raw=websocket,
    )
    try:
        await handler(channel=channel, call=call)
    finally:
        await channel.close()
        await callbacks.stream_ended(
            attempt_id=attempt_id, call_sid=call_sid, stream_sid=stream_sid
        )
        logger.info("media stream ended: attempt={} stream={}", attempt_id, stream_sid)


async def _wait_for_start(channel: _Channel) -> dict[str, Any] | None:
    # `connected` comes first, then `start`; nothing else is expected before it.
    while (message := await channel.receive()) is not None:
        if message.get("event") == "start":
            return message
    return None
