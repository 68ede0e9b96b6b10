"""`GhlCalendar`: free slots fetched in the background and bookings made, against the emulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from loguru import logger

from dentalvoice.conversation.calendar import BookingStatus, await_booking
from dentalvoice.crm.client import GhlClient
from dentalvoice.emulators.ghl import Calendar, Contact, GhlEmulator, ManualClock, PrivateToken
from dentalvoice.voice import calendar as voice_calendar
from dentalvoice.voice.calendar import CalendarTarget, GhlCalendar
from tests.voice.ghl_line import BOOK_PATH, GhlLine, ghl_client

NY = ZoneInfo("America/New_York")
# Monday 2030-01-07, 07:00 in New York: the clinic opens at 09:00.
NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
MON_9 = datetime(2030, 1, 7, 9, 0, tzinfo=NY)
MEMBER = "UserFrontDesk0000001"
SLOTS_PATH = "/calendars/"


@dataclass
class Clinic:
    emulator: GhlEmulator
    line: GhlLine
    ghl: GhlClient
    pit: PrivateToken
    contact: Contact
    calendar: Calendar
    team: Calendar

    def target(self, **overrides: object) -> CalendarTarget:
        target = CalendarTarget(
            ghl_location_id=self.pit.location_id,
            calendar_id=self.calendar.id,
            contact_id=self.contact.id,
            timezone="America/New_York",
            first_name="Avery",
        )
        return replace(target, **overrides)  # type: ignore[arg-type]

    def calendar_for(self, **overrides: object) -> GhlCalendar:
        return GhlCalendar(ghl=self.ghl, target=self.target(**overrides), now=NOW)


@pytest.fixture
async def clinic() -> AsyncIterator[Clinic]:
    emulator = GhlEmulator(clock=ManualClock(NOW), seed=11)
    await asyncio.to_thread(emulator.warm_spec)  # ~0.5 s once, not inside a timed test
    location = emulator.seed_location(name="Sunrise Dental", timezone="America/New_York")
    pit = emulator.seed_pit(location_id=location.id)
    contact = emulator.seed_contact(
        location_id=location.id, first_name="Avery", last_name="Stone", phone="+13055550123"
    )
    hours = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)}
    calendar = emulator.seed_calendar(location_id=location.id, open_hours=hours)
    team = emulator.seed_calendar(
        location_id=location.id, name="Hygiene", open_hours=hours, team_member_ids=[MEMBER]
    )
    line = GhlLine(emulator)
    ghl = ghl_client(line, {location.id: pit.token})
    try:
        yield Clinic(emulator, line, ghl, pit, contact, calendar, team)
    finally:
        await ghl.aclose()


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), format="{level} {message}")
    try:
        yield lines
    finally:
        logger.remove(sink)


def epoch_ms(day: date) -> int:
    return round(datetime.combine(day, datetime.min.time(), NY).timestamp() * 1000)


# -- free slots ---------------------------------------------------------------------------------


async def test_free_slots_of_the_next_14_days_come_in_the_clinics_zone(clinic: Clinic) -> None:
    calendar = clinic.calendar_for()
    calendar.start()

    slots = await calendar.free_slots()

    (fetch,) = clinic.line.sent("GET", SLOTS_PATH)
    assert fetch.query["startDate"] == [str(epoch_ms(date(2030, 1, 7)))]
    assert fetch.query["endDate"] == [str(epoch_ms(date(2030, 1, 21)) - 1)]
    assert fetch.query["timezone"] == ["America/New_York"]
    assert slots[0] == MON_9 and slots[0].utcoffset() == timedelta(hours=-5)
    assert slots[-1] == datetime(2030, 1, 18, 16, 30, tzinfo=NY)  # the last weekday slot
    assert len(slots) == 10 * 14  # ten weekdays of 14 half-hour slots
    assert calendar.fetch_s is not None and calendar.fetch_s < FETCH_BUDGET_S


# The emulator in process answers in a few milliseconds; anything near a second is a bug.
FETCH_BUDGET_S = 1.0


async def test_a_failed_fetch_is_tried_once_more(clinic: Clinic) -> None:
    clinic.emulator.inject_fault(status=503, count=1, path="/calendars/*/free-slots")

    slots = await clinic.calendar_for().free_slots()

    assert slots and slots[0] == MON_9
    assert [e.status for e in clinic.line.sent("GET", SLOTS_PATH)] == [503, 200]


async def test_a_hanging_fetch_times_out_and_is_tried_once_more(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(voice_calendar, "FREE_SLOTS_TIMEOUT_S", 0.2)
    clinic.emulator.inject_fault(kind="timeout", count=1, path="/calendars/*/free-slots")
    started = time.monotonic()

    slots = await clinic.calendar_for().free_slots()

    assert slots and time.monotonic() - started < 1.0
    assert len(clinic.line.sent("GET", SLOTS_PATH)) == 2


async def test_two_failed_fetches_give_no_slots_and_logs_without_phi(
    clinic: Clinic, log_lines: list[str]
) -> None:
    clinic.emulator.inject_fault(status=503, count=2, path="/calendars/*/free-slots")

    assert await clinic.calendar_for().free_slots() == ()

    failures = [line for line in log_lines if "free slots not fetched" in line]
    assert len(failures) == 2 and all(line.startswith("WARNING") for line in failures)
    logged = "\n".join(log_lines)
    assert clinic.calendar.id in logged
    for phi in ("Avery", "Stone", "5550123", clinic.contact.id):
        assert phi not in logged


async def test_without_credentials_there_are_no_slots_and_no_retry(clinic: Clinic) -> None:
    calendar = clinic.calendar_for(ghl_location_id="LocWithoutToken00001")

    assert await calendar.free_slots() == ()
    assert clinic.line.exchanges == []


# -- booking -----------------------------------------------------------------------------------


async def test_a_booking_holds_the_slot_with_its_offset_a_bare_title_and_the_member(
    clinic: Clinic,
) -> None:
    calendar = clinic.calendar_for(calendar_id=clinic.team.id, assigned_user_id=MEMBER)

    result = await calendar.book(MON_9.astimezone(UTC))

    assert result.status is BookingStatus.HELD and result.appointment_id is not None
    (booking,) = clinic.line.sent("POST", BOOK_PATH)
    assert booking.body["startTime"] == "2030-01-07T09:00:00-05:00"
    assert booking.body["assignedUserId"] == MEMBER
    assert booking.body["title"] == "Avery - Booked by phone"
    appointment = clinic.emulator.state.appointments[result.appointment_id]
    assert appointment.start == MON_9 and appointment.contact_id == clinic.contact.id
    assert calendar.appointment_for(MON_9) == result.appointment_id
    # Asked again (a turn taken back and answered again): the same appointment, no request.
    assert await calendar.book(MON_9) == result
    assert len(clinic.line.sent("POST", BOOK_PATH)) == 1


async def test_a_slot_booked_by_someone_else_meanwhile_is_taken(clinic: Clinic) -> None:
    other = clinic.emulator.seed_contact(location_id=clinic.pit.location_id, first_name="Sam")
    clinic.emulator.seed_appointment(
        calendar_id=clinic.calendar.id, contact_id=other.id, start=MON_9
    )

    result = await clinic.calendar_for().book(MON_9)

    assert result.status is BookingStatus.TAKEN and result.appointment_id is None


async def test_a_refusal_other_than_a_taken_slot_is_unavailable(
    clinic: Clinic, log_lines: list[str]
) -> None:
    # A team calendar with no member configured: GHL refuses it, every time.
    calendar = clinic.calendar_for(calendar_id=clinic.team.id)

    result = await calendar.book(MON_9)

    assert result.status is BookingStatus.UNAVAILABLE
    assert any(line.startswith("ERROR") and "refused" in line for line in log_lines)


async def test_a_slow_booking_goes_on_after_the_agent_stops_waiting(clinic: Clinic) -> None:
    clinic.line.delays[("POST", BOOK_PATH)] = 0.3
    calendar = clinic.calendar_for()

    waiting = asyncio.ensure_future(calendar.book(MON_9))
    result = await await_booking(waiting, start=MON_9, budget=0.05)
    assert result.status is BookingStatus.PENDING
    assert calendar.appointment_for(MON_9) is None

    await calendar.settle()
    appointment_id = calendar.appointment_for(MON_9)
    assert appointment_id is not None and appointment_id in clinic.emulator.state.appointments
    assert calendar.held() == {MON_9: appointment_id}


async def test_a_booking_whose_answer_was_lost_is_found_among_the_contacts_appointments(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(voice_calendar, "BOOKING_TIMEOUT_S", 0.2)
    clinic.line.lose_booking_answer = True

    result = await clinic.calendar_for().book(MON_9)

    (appointment,) = clinic.emulator.state.appointments_of(clinic.contact.id)
    assert result.status is BookingStatus.HELD and result.appointment_id == appointment.id
    assert len(clinic.line.sent("GET", f"/contacts/{clinic.contact.id}/appointments")) == 1


async def test_closing_stops_a_fetch_still_running(clinic: Clinic) -> None:
    clinic.emulator.inject_fault(kind="timeout", count=None, path="/calendars/*/free-slots")
    calendar = clinic.calendar_for()
    calendar.start()
    await asyncio.sleep(0.05)

    await asyncio.wait_for(calendar.aclose(), timeout=1.0)

    assert calendar.fetch_s is not None
