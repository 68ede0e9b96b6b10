"""Test scaffolding for the Twilio emulator: a small app receiving what Twilio sends.

The receiver plays our application's part: it checks every signature with
`dentalvoice.telephony.signature` against the PUBLIC URL (the emulator routes
`https://agent.example.test` to it), answers TwiML set per test, and hands each Media Stream
WebSocket to the test as an `AppSocket` to drive.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response, WebSocket

from dentalvoice.emulators.twilio import (
    EmulatorSettings,
    TwilioEmulator,
    create_emulator,
    serve_twilio_emulator,
)
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.telephony import TwilioClient
from dentalvoice.telephony.signature import public_url, validate_http, validate_websocket

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "emulator-test-token"
PUBLIC = "https://agent.example.test"
PUBLIC_WSS = "wss://agent.example.test"
FROM = "+13055550999"
TO = "+13055550123"
VOICE_URL = f"{PUBLIC}/twilio/voice"
STATUS_URL = f"{PUBLIC}/twilio/status"
AMD_URL = f"{PUBLIC}/twilio/amd"


def stream_twiml(token: str = "tok1", **parameters: str) -> str:
    """`<Connect><Stream>` to the receiver's media route, with custom parameters."""
    params = "".join(f'<Parameter name="{k}" value="{v}"/>' for k, v in parameters.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
        f'<Stream url="{PUBLIC_WSS}/twilio/media/{token}">{params}</Stream>'
        "</Connect></Response>"
    )


@dataclass
class Hit:
    """One webhook the receiver got."""

    path: str
    query: str
    params: dict[str, str]
    signature_valid: bool
    headers: dict[str, str]


class AppSocket:
    """The app's end of one Media Stream, driven by the test."""

    def __init__(self, websocket: WebSocket, token: str) -> None:
        self.websocket = websocket
        self.token = token
        self.done = asyncio.Event()
        self.disconnected = False

    async def recv(self) -> dict[str, Any] | None:
        """The next JSON message from the emulator, or None once it has closed the socket."""
        if self.disconnected:
            return None
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            self.disconnected = True
            return None
        text = message.get("text")
        assert isinstance(text, str), "Twilio sends text frames only"
        parsed = json.loads(text)
        assert isinstance(parsed, dict)
        return parsed

    async def recv_until(self, event: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until an `event` message; also returns everything read before it."""
        skipped: list[dict[str, Any]] = []
        while True:
            message = await self.recv()
            assert message is not None, f"the socket closed before {event!r}"
            if message["event"] == event:
                return message, skipped
            skipped.append(message)

    async def drain(self) -> list[dict[str, Any]]:
        """Read until the emulator closes the socket."""
        messages = []
        while (message := await self.recv()) is not None:
            messages.append(message)
        return messages

    async def send(self, message: dict[str, Any]) -> None:
        """Send a JSON message."""
        await self.websocket.send_text(json.dumps(message))

    async def send_audio(self, stream_sid: str, audio: bytes) -> None:
        """Send μ-law audio as one `media` message."""
        payload = base64.b64encode(audio).decode()
        await self.send({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})

    async def close(self) -> None:
        """Close from the app's side; the emulator continues after `</Connect>`."""
        await self.websocket.close(code=1000)
        self.disconnected = True
        self.done.set()


@dataclass
class Receiver:
    """What the app received, and what it answers."""

    base_url: str = ""
    hits: list[Hit] = field(default_factory=list)
    twiml: dict[str, str] = field(default_factory=dict)
    ws_signatures: list[bool] = field(default_factory=list)
    sockets: asyncio.Queue[AppSocket] = field(default_factory=asyncio.Queue)
    open_sockets: list[AppSocket] = field(default_factory=list)

    def reset(self) -> None:
        """Forget what was received and release every open stream."""
        for app_socket in self.open_sockets:
            app_socket.done.set()
        self.open_sockets.clear()
        self.hits.clear()
        self.twiml.clear()
        self.ws_signatures.clear()
        self.sockets = asyncio.Queue()

    def of(self, path: str) -> list[Hit]:
        """Hits on one path, in order."""
        return [h for h in self.hits if h.path == path]

    async def next_socket(self) -> AppSocket:
        """The next Media Stream the emulator opens."""
        async with asyncio.timeout(5):
            return await self.sockets.get()


def receiver_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.api_route("/twilio/{name:path}", methods=["GET", "POST"])
    async def webhook(request: Request, name: str) -> Response:
        # python-multipart is not installed, and Twilio only sends urlencoded forms.
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        url = public_url(PUBLIC, request.url.path, request.url.query)
        valid = validate_http(
            auth_token=AUTH_TOKEN,
            url=url,
            params=params,
            signature=request.headers.get("x-twilio-signature"),
        )
        receiver.hits.append(
            Hit(request.url.path, request.url.query, params, valid, dict(request.headers))
        )
        if not valid:
            return Response(status_code=403)
        if name == "broken":
            return Response(status_code=500)
        twiml = receiver.twiml.get(request.url.path)
        if twiml is not None:
            return Response(content=twiml, media_type="application/xml")
        return Response(content="", media_type="text/plain")

    @app.websocket("/twilio/media/{token}")
    async def media(websocket: WebSocket, token: str) -> None:
        valid = validate_websocket(
            auth_token=AUTH_TOKEN,
            wss_url=public_url(PUBLIC_WSS, websocket.url.path),
            signature=websocket.headers.get("x-twilio-signature"),
        )
        receiver.ws_signatures.append(valid)
        if not valid or token == "reject":
            await websocket.close(code=1008)
            return
        await websocket.accept()
        app_socket = AppSocket(websocket, token)
        receiver.open_sockets.append(app_socket)
        await receiver.sockets.put(app_socket)
        await app_socket.done.wait()

    return app


def fast_settings() -> EmulatorSettings:
    """Settings for tests: a high CPS so creates are not queued, short simulated times."""
    return EmulatorSettings(cps=1000.0, amd_human_s=0.02, dial_answer_s=0.01, dial_bridge_s=0.02)


@dataclass
class Harness:
    """The receiver, the emulator routing to it, and the emulator's URL."""

    receiver: Receiver
    emulator: TwilioEmulator
    url: str


async def place_call(twilio: TwilioClient, to: str = TO, *, key: str = "attempt-1") -> str:
    """Place a call the way the dialer does (status callbacks and async AMD)."""
    return await twilio.create_call(
        to=to,
        from_=FROM,
        url=VOICE_URL,
        status_callback=STATUS_URL,
        amd_callback=AMD_URL,
        timeout_s=25,
        idempotency_key=key,
    )


@asynccontextmanager
async def running_servers() -> AsyncIterator[Harness]:
    """A receiver and a served emulator routed to it, for one test module.

    Starting and stopping uvicorn costs a few tenths of a second, more than most tests.
    """
    state = Receiver()
    sock = bind()
    state.base_url = url_of(sock)
    emulator = create_emulator(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        route={PUBLIC: state.base_url},
        settings=fast_settings(),
    )
    with sock:
        async with (
            serve_asgi(receiver_app(state), sock=sock, websockets=True),
            serve_twilio_emulator(emulator) as url,
        ):
            try:
                yield Harness(state, emulator, url)
            finally:
                # Open app-side sockets would hold the receiver's shutdown.
                for app_socket in state.open_sockets:
                    app_socket.done.set()


@asynccontextmanager
async def fresh(servers: Harness) -> AsyncIterator[Harness]:
    """The module's servers with fresh state, checked for emulator crashes afterwards."""
    servers.receiver.reset()
    await servers.emulator.reset(settings=fast_settings())
    yield servers
    errors = list(servers.emulator.internal_errors)
    # Ending every call here keeps one test's calls out of the next test's records.
    await servers.emulator.reset()
    servers.receiver.reset()
    assert errors == []
