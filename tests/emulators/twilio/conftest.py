"""Fixtures: a running emulator, the real Twilio client pointed at it, and the receiver app.

The receiver (see `harness`) stands in for our application. Starting and stopping uvicorn costs
a few tenths of a second, more than most tests, so each test module shares one receiver and
one served emulator, and every test starts from a reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from dentalvoice.emulators.twilio import TwilioEmulator, create_emulator, serve_twilio_emulator
from dentalvoice.serving import bind, serve_asgi, url_of
from dentalvoice.telephony import TwilioClient

from .harness import (
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
    """One receiver and one served emulator per test module; each test resets them.

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


@pytest_asyncio.fixture(loop_scope="module")
async def harness(servers: Harness) -> AsyncIterator[Harness]:
    """The module's servers with fresh state, checked for emulator crashes afterwards."""
    servers.receiver.reset()
    await servers.emulator.reset(settings=fast_settings())
    yield servers
    errors = list(servers.emulator.internal_errors)
    # Ending every call here keeps one test's calls out of the next test's records.
    await servers.emulator.reset()
    servers.receiver.reset()
    assert errors == []


@pytest.fixture
def receiver(harness: Harness) -> Receiver:
    return harness.receiver


@pytest.fixture
def emulator(harness: Harness) -> TwilioEmulator:
    return harness.emulator


@pytest.fixture
def twilio_url(harness: Harness) -> str:
    return harness.url


@pytest_asyncio.fixture(loop_scope="module")
async def twilio(twilio_url: str) -> AsyncIterator[TwilioClient]:
    client = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=twilio_url, timeout_s=5
    )
    yield client
    await client.close()
