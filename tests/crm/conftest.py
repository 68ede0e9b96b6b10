"""A scripted stand-in for GHL's API behind `httpx.MockTransport`, and clients wired to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from dentalvoice.crm.auth import StaticTokens, TokenProvider
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.ratelimit import RateLimiter, TokenBucket
from dentalvoice.crm.transport import GhlTransport

BASE_URL = "https://ghl.test"
LOCATION = "LocTest0000000000001"
PIT = "pit-00000000-test-0000-0000-000000000000"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@dataclass
class FakeGhl:
    """Answers requests by (method, path) from queued responses; records every request.

    A route's last response is repeated once the queue is down to it; an unknown route is 404.
    """

    requests: list[httpx.Request] = field(default_factory=list)
    routes: dict[tuple[str, str], list[httpx.Response | Handler]] = field(default_factory=dict)

    def on(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        headers: dict[str, str] | None = None,
        handler: Handler | None = None,
    ) -> None:
        answer: httpx.Response | Handler = handler or httpx.Response(
            status, json=json if json is not None else {}, headers=headers
        )
        self.routes.setdefault((method, path), []).append(answer)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        # Read the body now: the client may reuse nothing, but assertions run later.
        await request.aread()
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, json={"statusCode": 404, "message": "no such route"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, httpx.Response):
            return httpx.Response(
                answer.status_code, content=answer.content, headers=answer.headers
            )
        result = answer(request)
        return await result if isinstance(result, Awaitable) else result

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def make_client(
    fake: FakeGhl,
    *,
    tokens: TokenProvider | None = None,
    limiter: RateLimiter | None = None,
    transport: GhlTransport | None = None,
    **kwargs: Any,
) -> GhlClient:
    """A client sending to `fake`, with a fixed PIT and a deterministic jitter."""
    return GhlClient(
        tokens=tokens or StaticTokens({LOCATION: PIT}),
        transport=transport or GhlTransport(base_url=BASE_URL, transport=fake.transport()),
        limiter=limiter or TokenBucket(),
        jitter=lambda: 0.5,
        **kwargs,
    )


@pytest.fixture
def fake() -> FakeGhl:
    return FakeGhl()


@pytest.fixture
async def ghl(fake: FakeGhl) -> AsyncIterator[GhlClient]:
    client = make_client(fake)
    try:
        yield client
    finally:
        await client.aclose()
