"""The GHL emulator behind a recording, delaying wrapper, and a GHL client talking to it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from dentalvoice.crm import StaticTokens, TokenBucket
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.transport import GhlTransport
from dentalvoice.emulators.ghl import GhlEmulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
BOOK_PATH = "/calendars/events/appointments"


@dataclass
class Exchange:
    """One request through the wrapper, with monotonic times."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    started: float
    status: int | None = None
    answered: float | None = None  # when the response started going back


@dataclass
class GhlLine:
    """Wraps the emulator (an ASGI app): records every exchange; can slow or lose answers.

    Attributes:
        delays: (method, path prefix) -> seconds to wait before the emulator sees the request.
        lose_booking_answer: The booking is made, but its answer never comes back (the client
            times out after GHL acted).
    """

    emulator: GhlEmulator
    exchanges: list[Exchange] = field(default_factory=list)
    delays: dict[tuple[str, str], float] = field(default_factory=dict)
    lose_booking_answer: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by every request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.emulator(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            query=parse_qs(scope.get("query_string", b"").decode()),
            body=json.loads(raw) if raw else None,
            started=time.monotonic(),
        )
        self.exchanges.append(exchange)
        self.arrived.set()
        for (method, prefix), seconds in self.delays.items():
            if exchange.method == method and exchange.path.startswith(prefix):
                await asyncio.sleep(seconds)  # a slow GHL

        replayed = False

        async def replay() -> Message:
            # The body once, then the client's own stream (a disconnect, when it leaves).
            nonlocal replayed
            if replayed:
                message: Message = await receive()
                return message
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        lose = self.lose_booking_answer and exchange.path == BOOK_PATH
        answer: list[Message] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.answered = time.monotonic()
            if lose:
                answer.append(message)
            else:
                await send(message)

        await self.emulator(scope, replay, sending)
        if lose:
            await asyncio.Event().wait()  # the answer is lost on the way: the client gives up

    def sent(self, method: str, path_prefix: str) -> list[Exchange]:
        """The exchanges with this method whose path starts with `path_prefix`."""
        return [e for e in self.exchanges if e.method == method and e.path.startswith(path_prefix)]


def ghl_client(line: GhlLine, tokens: dict[str, str]) -> GhlClient:
    """A GHL client sending through `line` in process (no port), with these location tokens."""
    transport = GhlTransport(
        base_url="https://services.leadconnectorhq.com",
        timeout=httpx.Timeout(5.0),
        transport=httpx.ASGITransport(app=line),
    )
    return GhlClient(tokens=StaticTokens(tokens), transport=transport, limiter=TokenBucket())
