"""The process's long-lived parts: one GHL client and the CRM outbox sender, started and stopped."""

from __future__ import annotations

from datetime import UTC, datetime

from loguru import logger

from dentalvoice.compliance import policy
from dentalvoice.config import Settings
from dentalvoice.crm.client import GhlClient
from dentalvoice.crm.sender import OutboxSender
from dentalvoice.db import Database
from dentalvoice.runtime import open_telephony, warm_up
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


async def test_warm_up_loads_the_gate_for_the_clocks_year(settings: Settings, db: Database) -> None:
    # A simulated clock in another year: the calendars of that year are the ones decided by.
    telephony = open_telephony(
        settings=settings, db=db, redis=None, clock=lambda: datetime(2031, 6, 1, tzinfo=UTC)
    )
    policy._holiday_dates.cache_clear()
    try:
        await telephony.warm_up()
        loaded = policy._holiday_dates.cache_info()
        for year in (2031, 2032):
            policy._holiday_dates("US", None, year)
        # Both years were loaded already: two hits, nothing new.
        assert policy._holiday_dates.cache_info().hits == loaded.hits + 2
        assert policy._holiday_dates.cache_info().misses == loaded.misses
    finally:
        await telephony.aclose()


async def test_a_failed_warm_up_step_is_logged_and_the_next_still_runs() -> None:
    done: list[str] = []
    lines: list[str] = []

    async def fails() -> None:
        raise RuntimeError("rules file unreadable")

    async def works() -> None:
        done.append("speech models")

    sink = logger.add(lambda message: lines.append(str(message)), format="{level} {message}")
    try:
        await warm_up(("compliance rules", fails), ("speech models", works))
    finally:
        logger.remove(sink)

    assert done == ["speech models"]
    (warning,) = [line for line in lines if line.startswith("WARNING")]
    assert warning.startswith("WARNING warm-up of the compliance rules failed: RuntimeError")
