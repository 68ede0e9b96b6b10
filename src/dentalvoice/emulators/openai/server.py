"""A fake OpenAI chat-completions server: a plain ASGI app with latency and failure injection.

It speaks the wire format of `POST /v1/chat/completions` closely enough for the official SDK:
server-sent `chat.completion.chunk` events ending in `data: [DONE]` (tool-call arguments split
over several chunks, as the real API streams them), a `chat.completion` object when not
streaming, and OpenAI-shaped error bodies. What it answers comes from a policy (see
`policies`). Latency and faults are attributes of the app instance, so a test can change them
between requests. `POST /v1/audio/transcriptions` transcribes uploaded WAV with the local
Whisper model (see `transcriptions`).

The app is written against ASGI directly rather than a web framework: frameworks stay at the
service's edges (see tests/test_architecture.py), and the fake needs only one route.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from dentalvoice.emulators.openai import transcriptions
from dentalvoice.emulators.openai.policies import ChatRequest, Policy, PolicyReply
from dentalvoice.emulators.openai.transcriptions import FormError, TranscriptionRequest
from dentalvoice.serving import answer_lifespan, pause, read_body, serve_asgi, watch_disconnect

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]
_JSON_HEADERS = [(b"content-type", b"application/json")]


class Fault(enum.StrEnum):
    """A failure the fake can inject into chat completion requests."""

    SERVER_ERROR = "server_error"  # HTTP 500
    RATE_LIMIT = "rate_limit"  # HTTP 429
    HANG = "hang"  # no response at all for `hang_s` (or until the client gives up)
    HANG_MID_STREAM = "hang_mid_stream"  # `fault_after_chunks` chunks, then stall and drop
    ERROR_MID_STREAM = "error_mid_stream"  # `fault_after_chunks` chunks, then an error event
    BAD_CHUNK = "bad_chunk"  # `fault_after_chunks` chunks, then an event that is not JSON


_MID_STREAM = frozenset({Fault.HANG_MID_STREAM, Fault.ERROR_MID_STREAM, Fault.BAD_CHUNK})


def _error(message: str, kind: str, *, param: str | None = None, code: str | None = None) -> Any:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


_SERVER_ERROR = _error(
    "The server had an error while processing your request. Sorry about that!", "server_error"
)
_RATE_LIMITED = _error(
    "Rate limit reached for requests. Please try again later.",
    "requests",
    code="rate_limit_exceeded",
)


class FakeOpenAI:
    """The fake server as an ASGI application. Create it with `create_app`.

    Attributes a test may change at any time:
        policy: Decides each reply.
        api_key: When set, the only bearer token accepted; otherwise any non-empty one is.
        first_token_delay_s: Pause before the first streamed chunk (or the JSON reply).
        chunk_delay_s: Pause before each later chunk.
        fault: The failure to inject, or None.
        fault_times: How many requests get `fault`; None for every request until cleared.
        fault_after_chunks: How many chunks a mid-stream fault lets through first.
        hang_s: How long a hang lasts if the client does not give up first.
        argument_piece_chars: Size of the pieces tool-call arguments are streamed in.

    Transcriptions (`POST /v1/audio/transcriptions`) have their own knobs:
        whisper_model: The local Whisper model directory; None for the bundled `tiny.en`.
        transcription_delay_s: Pause before each transcription's reply (a cloud round trip).
        transcription_fault: SERVER_ERROR, RATE_LIMIT, or (any other) a hang of `hang_s`.
        transcription_fault_times: How many transcriptions get it; None until cleared.

    Read-only observations: `requests` (every valid request, in order), `chunks_sent` and
    `streams_completed` (streams that reached `data: [DONE]`), `transcriptions` (every valid
    transcription request, in order) and `transcripts` (the text each was answered with).
    """

    def __init__(self, policy: Policy, *, api_key: str | None = None) -> None:
        self.policy = policy
        self.api_key = api_key
        self.first_token_delay_s = 0.0
        self.chunk_delay_s = 0.0
        self.fault: Fault | None = None
        self.fault_times: int | None = None
        self.fault_after_chunks = 2
        self.hang_s = 60.0
        self.argument_piece_chars = 7
        self.requests: list[ChatRequest] = []
        self.chunks_sent = 0
        self.streams_completed = 0
        self.whisper_model: str | None = None
        self.transcription_delay_s = 0.0
        self.transcription_fault: Fault | None = None
        self.transcription_fault_times: int | None = None
        self.transcriptions: list[TranscriptionRequest] = []
        self.transcripts: list[str] = []

    def inject(self, fault: Fault, *, times: int | None = None, after_chunks: int = 2) -> None:
        """Make the next `times` requests (every one when None) fail with `fault`.

        Args:
            fault: The failure.
            times: How many requests it applies to; None until `clear_fault`.
            after_chunks: For mid-stream faults, the chunks sent before failing.
        """
        self.fault, self.fault_times, self.fault_after_chunks = fault, times, after_chunks

    def clear_fault(self) -> None:
        """Stop injecting failures."""
        self.fault, self.fault_times = None, None

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = str(scope["path"]).rstrip("/")
        if path.endswith("/audio/transcriptions"):
            await self._transcription(scope, receive, send)
            return
        if not path.endswith("/chat/completions"):
            await _send_json(
                send,
                404,
                _error(
                    f"Unknown request URL: {scope['method']} {path}.",
                    "invalid_request_error",
                    code="unknown_url",
                ),
            )
            return
        if scope["method"] != "POST":
            await _send_json(send, 405, _error("Method not allowed.", "invalid_request_error"))
            return
        denied = self._check_auth(scope)
        if denied is not None:
            await _send_json(send, 401, denied)
            return
        body = await read_body(receive)
        try:
            request = ChatRequest.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            param = ".".join(str(p) for p in first["loc"]) or None
            await _send_json(send, 400, _error(first["msg"], "invalid_request_error", param=param))
            return
        self.requests.append(request)
        await self._complete(request, self._take_fault(), receive, send)

    def _check_auth(self, scope: Scope) -> Any:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
            )
        if self.api_key is not None and token.strip() != self.api_key:
            return _error(
                "Incorrect API key provided.", "invalid_request_error", code="invalid_api_key"
            )
        return None

    async def _transcription(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _send_json(send, 405, _error("Method not allowed.", "invalid_request_error"))
            return
        denied = self._check_auth(scope)
        if denied is not None:
            await _send_json(send, 401, denied)
            return
        body = await read_body(receive)
        content_type = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"content-type"),
            "",
        )
        try:
            request, audio = transcriptions.TranscriptionRequest.parse(content_type, body)
        except FormError as exc:
            error = _error(exc.message, "invalid_request_error", param=exc.param)
            await _send_json(send, 400, error)
            return
        self.transcriptions.append(request)
        fault = self._take_transcription_fault()
        if fault is Fault.SERVER_ERROR:
            await _send_json(send, 500, _SERVER_ERROR)
            return
        if fault is Fault.RATE_LIMIT:
            await _send_json(send, 429, _RATE_LIMITED)
            return
        gone = asyncio.Event()
        watcher = asyncio.create_task(watch_disconnect(receive, gone))
        try:
            if fault is not None and await pause(self.hang_s, gone):
                return
            text = await asyncio.to_thread(
                transcriptions.transcribe, audio, request, self.whisper_model
            )
            if await pause(self.transcription_delay_s, gone):
                return
            self.transcripts.append(text)
            content_type_out, payload = transcriptions.reply(request, text)
            headers = [
                (b"content-type", content_type_out.encode()),
                (b"x-request-id", _request_id()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        finally:
            watcher.cancel()
            await asyncio.wait({watcher})

    def _take_transcription_fault(self) -> Fault | None:
        fault = self.transcription_fault
        if fault is not None and self.transcription_fault_times is not None:
            self.transcription_fault_times -= 1
            if self.transcription_fault_times <= 0:
                self.transcription_fault, self.transcription_fault_times = None, None
        return fault

    def _take_fault(self) -> Fault | None:
        fault = self.fault
        if fault is not None and self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self.clear_fault()
        return fault

    async def _complete(
        self, request: ChatRequest, fault: Fault | None, receive: Receive, send: Send
    ) -> None:
        if fault is Fault.SERVER_ERROR:
            await _send_json(send, 500, _SERVER_ERROR)
            return
        if fault is Fault.RATE_LIMIT:
            await _send_json(send, 429, _RATE_LIMITED)
            return
        reply = self._reply(request)
        gone = asyncio.Event()
        watcher = asyncio.create_task(watch_disconnect(receive, gone))
        try:
            if fault is Fault.HANG and await pause(self.hang_s, gone):
                return
            if request.stream:
                await self._stream(request, reply, fault, gone, send)
            elif not await pause(self.first_token_delay_s, gone):
                await _send_json(send, 200, self._completion(request, reply))
        finally:
            watcher.cancel()
            await asyncio.wait({watcher})

    def _reply(self, request: ChatRequest) -> PolicyReply:
        reply = self.policy(request)
        if request.tool_choice == "none" or not request.tools:
            # The real API never calls a tool it was not offered or was told not to call.
            return PolicyReply(content=reply.content)
        return reply

    # -- streaming --------------------------------------------------------------------------

    async def _stream(
        self,
        request: ChatRequest,
        reply: PolicyReply,
        fault: Fault | None,
        gone: asyncio.Event,
        send: Send,
    ) -> None:
        events = self._chunks(request, reply)
        headers = [*_SSE_HEADERS, (b"x-request-id", _request_id())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if await pause(self.first_token_delay_s, gone):
            await _end(send)
            return
        for n, event in enumerate(events):
            if fault in _MID_STREAM and n == self.fault_after_chunks:
                await self._fail_mid_stream(fault, gone, send)
                return
            if n and await pause(self.chunk_delay_s, gone):
                await _end(send)
                return
            await send({"type": "http.response.body", "body": _sse(event), "more_body": True})
            self.chunks_sent += 1
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})
        self.streams_completed += 1

    async def _fail_mid_stream(self, fault: Fault | None, gone: asyncio.Event, send: Send) -> None:
        if fault is Fault.ERROR_MID_STREAM:
            await _end(send, _sse(_SERVER_ERROR))
        elif fault is Fault.BAD_CHUNK:
            await _end(send, b'data: {"id": "chatcmpl-broken", "choices": [\n\n')
        else:
            await pause(self.hang_s, gone)
            await _end(send)  # the connection drops without [DONE]

    def _chunks(self, request: ChatRequest, reply: PolicyReply) -> list[dict[str, Any]]:
        """The reply as the real API streams it: role, content pieces, tool calls, finish."""
        completion_id, created = _completion_id(), int(time.time())
        include_usage = bool((request.stream_options or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                body["usage"] = None
            return body

        chunks = [chunk({"role": "assistant", "content": "" if reply.content else None})]
        chunks += [chunk({"content": piece}) for piece in re.findall(r"\s*\S+", reply.content)]
        for index, (name, arguments) in enumerate(reply.tool_calls):
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            first = {
                "index": index,
                "id": _call_id(),
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            chunks.append(chunk({"tool_calls": [first]}))
            size = max(1, self.argument_piece_chars)
            for start in range(0, len(text), size):
                piece = {"index": index, "function": {"arguments": text[start : start + size]}}
                chunks.append(chunk({"tool_calls": [piece]}))
        chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        if include_usage:
            usage = chunk({})
            usage["choices"], usage["usage"] = [], _usage(request, reply)
            chunks.append(usage)
        return chunks

    def _completion(self, request: ChatRequest, reply: PolicyReply) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.content or None,
            "refusal": None,
            "annotations": [],
        }
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(),
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for name, args in reply.tool_calls
            ]
        return {
            "id": _completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": _usage(request, reply),
        }


def create_app(policy: Policy, *, api_key: str | None = None) -> FakeOpenAI:
    """A fake OpenAI server answering with `policy`.

    Args:
        policy: Decides each reply (see `policies`).
        api_key: When set, the only bearer token accepted.

    Returns:
        The ASGI app; its attributes control latency and faults.
    """
    return FakeOpenAI(policy, api_key=api_key)


@contextlib.asynccontextmanager
async def serve_fake_openai(
    app: FakeOpenAI | Policy, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the fake on a real TCP port with uvicorn, for as long as the block lasts.

    Args:
        app: A fake made with `create_app`, or a policy to make one with.
        host: The interface to listen on.
        port: The port; 0 picks a free one.

    Yields:
        The base URL for an OpenAI client, e.g. "http://127.0.0.1:54321/v1".
    """
    asgi = app if isinstance(app, FakeOpenAI) else create_app(app)
    async with serve_asgi(asgi, host=host, port=port) as url:
        yield f"{url}/v1"


# -- helpers --------------------------------------------------------------------------------


async def _send_json(send: Send, status: int, body: Any) -> None:
    headers = [*_JSON_HEADERS, (b"x-request-id", _request_id())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _end(send: Send, body: bytes = b"") -> None:
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _sse(event: Any) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def _usage(request: ChatRequest, reply: PolicyReply) -> dict[str, int]:
    # Word counts stand in for tokens; nothing here depends on the exact numbers.
    prompt = sum(len(m.text.split()) for m in request.messages)
    completion = len(reply.content.split()) + sum(
        len(str(args)) // 4 for _, args in reply.tool_calls
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _request_id() -> bytes:
    return f"req_{uuid.uuid4().hex}".encode()
