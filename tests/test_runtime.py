"""The process's long-lived parts: one GHL client and the CRM outbox sender, started and stopped."""

from __future__ import annotations

from dentalvoice.config import Settings
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.sender import OutboxSender
from dentalvoice.db import Database
from dentalvoice.runtime import open_telephony
from tests.conftest import make_settings


async def test_the_process_gets_one_ghl_client_and_a_running_sender(
    settings: Settings, db: Database
) -> None:
    telephony = open_telephony(settings=settings, db=db, redis=None)
    assert isinstance(telephony.ghl, GhlClient)
    assert isinstance(telephony.sender, OutboxSender)

    telephony.start(dial=False)
    sending = telephony._sending
    assert sending is not None and not sending.done()

    await telephony.aclose()
    assert sending.done() and not sending.cancelled()


async def test_the_write_back_can_be_switched_off(settings: Settings, db: Database) -> None:
    off = make_settings(
        **{**settings.model_dump(exclude_unset=True), "crm_writeback_enabled": False}
    )
    telephony = open_telephony(settings=off, db=db, redis=None)
    assert telephony.ghl is not None and telephony.sender is None
    telephony.start(dial=False)
    await telephony.aclose()
