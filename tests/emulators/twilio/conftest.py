"""Fixtures: a running emulator, the real Twilio client pointed at it, and the receiver app.

The receiver (see `harness`) stands in for our application. Starting and stopping uvicorn costs
a few tenths of a second, more than most tests, so each test module shares one receiver and
one served emulator, and every test starts from a reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from dentalvoice.emulators.twilio import TwilioEmulator
from dentalvoice.telephony import TwilioClient

from .harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Harness,
    Receiver,
    fresh,
    running_servers,
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[Harness]:
    """One receiver and one served emulator per test module; each test resets them."""
    async with running_servers() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def harness(servers: Harness) -> AsyncIterator[Harness]:
    """The module's servers with fresh state, checked for emulator crashes afterwards."""
    async with fresh(servers) as ready:
        yield ready


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
