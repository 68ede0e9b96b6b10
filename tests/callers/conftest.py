"""Fixtures: the Twilio emulator and a receiver app to put a talking caller on the phone with.

The receiver and emulator come from the emulator's own tests (`tests/emulators/twilio/harness`);
one pair serves a whole test module, and each test starts from a reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from dentalvoice.emulators.twilio import create_emulator, serve_twilio_emulator
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.telephony import TwilioClient

from ..emulators.twilio.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC,
    Harness,
    Receiver,
    fast_settings,
    receiver_app,
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[Harness]:
    """One receiver and one served emulator per test module."""
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
                for app_socket in state.open_sockets:
                    app_socket.done.set()


@pytest_asyncio.fixture(loop_scope="module")
async def harness(servers: Harness) -> AsyncIterator[Harness]:
    """The module's servers with fresh state, checked for emulator crashes afterwards."""
    servers.receiver.reset()
    await servers.emulator.reset(settings=fast_settings())
    yield servers
    errors = list(servers.emulator.internal_errors)
    await servers.emulator.reset()
    servers.receiver.reset()
    assert errors == []


@pytest_asyncio.fixture(loop_scope="module")
async def twilio(harness: Harness) -> AsyncIterator[TwilioClient]:
    client = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=harness.url, timeout_s=5
    )
    yield client
    await client.close()
