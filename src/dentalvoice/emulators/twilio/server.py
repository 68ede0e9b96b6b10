"""Serve the emulator on a real TCP port: in-process for tests and benchmarks, or from the CLI."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from loguru import logger

from dentalvoice.emulators.twilio.callees import callee_from_name
from dentalvoice.emulators.twilio.emulator import TwilioEmulator, create_emulator
from dentalvoice.emulators.twilio.spec import load_spec
from dentalvoice.serving import serve_asgi


def parse_route(text: str) -> dict[str, str]:
    """A routing table from `public=local` pairs separated by commas (for a CLI option).

    Args:
        text: E.g. `https://agent.example.test=http://127.0.0.1:8000`.

    Returns:
        Public base URL → local base URL.

    Raises:
        ValueError: A pair without `=`.
    """
    route: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        public, sep, local = pair.partition("=")
        if not sep or not public.strip() or not local.strip():
            raise ValueError(f"route entries look like public=local, not {pair!r}")
        route[public.strip()] = local.strip()
    return route


@contextlib.asynccontextmanager
async def serve_twilio_emulator(
    emulator: TwilioEmulator, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run the emulator with uvicorn in the current event loop for as long as the block lasts.

    The OpenAPI spec is loaded (in a worker thread) before the first request, so the first
    create is not slowed by it. On exit every call task is cancelled, then the server stops.

    Args:
        emulator: Made with `create_emulator`.
        host: The interface to listen on.
        port: The port; 0 picks a free one.

    Yields:
        The base URL for the Twilio client's `api_base_url`, e.g. `http://127.0.0.1:54321`.
    """
    await asyncio.to_thread(load_spec, emulator.spec_path)
    async with serve_asgi(emulator, host=host, port=port) as url:
        emulator.url = url
        try:
            yield url
        finally:
            emulator.url = None
            # The call tasks end before the server stops, so none of them sees it vanish.
            await emulator.aclose()


async def run_twilio_emulator(
    *,
    host: str,
    port: int,
    account_sid: str,
    auth_token: str,
    route: Mapping[str, str] | None,
    cps: float,
    callee_name: str,
) -> None:
    """Run a standalone emulator until cancelled (for the `dentalvoice` CLI).

    Args:
        host: The interface to listen on.
        port: The port (0 picks a free one; the URL is logged).
        account_sid: The account SID the REST API accepts.
        auth_token: Its auth token.
        route: Public base URL → local base URL for webhooks and streams.
        cps: Calls per second.
        callee_name: Who answers every number: `no_answer`, `busy`, `fails`, `voicemail`
            or `silent_human`.

    Raises:
        ValueError: An unknown callee name or a bad argument.
    """
    emulator = create_emulator(
        account_sid=account_sid,
        auth_token=auth_token,
        cps=cps,
        route=route,
        default_callee=callee_from_name(callee_name),
    )
    async with serve_twilio_emulator(emulator, host=host, port=port) as url:
        logger.info(
            "twilio emulator listening on {} (account {}, cps {}, callee {}, {} route(s))",
            url,
            account_sid,
            cps,
            callee_name,
            len(route or {}),
        )
        await asyncio.Event().wait()
