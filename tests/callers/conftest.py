"""Fixtures: the Twilio emulator and a receiver app to put a talking caller on the phone with.

The receiver and emulator come from the emulator's own tests (`tests/emulators/twilio/harness`);
one pair serves a whole test module, and each test starts from a reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from dentalvoice.telephony import TwilioClient

from ..emulators.twilio.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Harness,
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


@pytest_asyncio.fixture(loop_scope="module")
async def twilio(harness: Harness) -> AsyncIterator[TwilioClient]:
    client = TwilioClient(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base_url=harness.url, timeout_s=5
    )
    yield client
    await client.close()
