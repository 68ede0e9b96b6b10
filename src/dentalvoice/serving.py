"""Running an ASGI app on a real port inside the current event loop (tests, demo, emulators).

The emulators call back over real HTTP and WebSockets, so in-process transports are not
enough: the app, the Twilio emulator and the fake providers each get a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


async def read_body(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> bytes:
    """An ASGI request's whole body (what arrived, if the client left midway)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


async def watch_disconnect(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], gone: asyncio.Event
) -> None:
    """Set `gone` when the client disconnects (run as a task once the body is read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def pause(seconds: float, gone: asyncio.Event) -> bool:
    """Wait `seconds` unless the client leaves first; True if it left."""
    if seconds > 0 and not gone.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone.wait(), seconds)
    return gone.is_set()


async def answer_lifespan(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """Acknowledge an ASGI lifespan scope for an app with nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready socket; bind first when a peer must know the port in advance.

    Args:
        host: The interface.
        port: The port; 0 picks a free one.

    Returns:
        The bound socket (uvicorn listens on it).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    """The base URL of a bound socket, e.g. `http://127.0.0.1:54321`."""
    host, port = sock.getsockname()[:2]
    return f"{scheme}://{host}:{port}"


@asynccontextmanager
async def serve_asgi(
    app: Any,
    *,
    sock: socket.socket | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    websockets: bool = False,
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn for as long as the block lasts (its lifespan is not run).

    Args:
        app: The ASGI app.
        sock: A socket from `bind` (the caller closes it), or None to bind `host`:`port`.
        host: The interface, without `sock`.
        port: The port, without `sock` (0 picks a free one).
        websockets: Accept WebSocket upgrades (the app's media route needs it).

    Yields:
        The base URL.
    """
    own = sock is None
    sock = sock if sock is not None else bind(host, port)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        http="h11",
        ws="websockets-sansio" if websockets else "none",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the ASGI server did not start")
            # uvicorn offers no start-up event to wait on, only this flag.
            await asyncio.sleep(0.005)
        yield url_of(sock)
    finally:
        server.should_exit = True
        await task
        if own:
            sock.close()
