"""An answered call and the clinic's GHL calendar: fetched at answer, booked, recorded.

The call's agent and action sink are built as the voice handler builds them (`begin`), against
the GHL emulator in process; the agent is driven with text, its actions carried out as the
pipeline would. The whole call with audio is in `test_booking_call.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.config import Settings
from dentalvoice.conversation import scripted
from dentalvoice.conversation.agent import AgentTurn, BookSlot, Say, TurnEvent, collect
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm.client import GhlClient
from dentalvoice.db import Database
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.emulators.ghl import Calendar, GhlEmulator, ManualClock
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.telephony.media import LiveCall
from dentalvoice.voice.context import answered_call
from dentalvoice.voice.handler import CallStart, VoiceCallHandler
from dentalvoice.voice.records import CallRecord
from tests.compliance.test_flows import MORNING, Clock
from tests.voice.ghl_line import BOOK_PATH, GhlLine, ghl_client
from tests.voice.test_records import answered

NY = ZoneInfo("America/New_York")
MEMBER = "UserFrontDesk0000001"
SLOTS_PATH = "/calendars/"
# To the offer; MORNING is a Wednesday at 10:00, so the afternoon slots of that day come first.
TO_THE_OFFER = (
    "Yes.",
    "Yes it's me.",
    "I'd like a cleaning.",
    "About a year ago.",
    "I've been there before.",
    "No insurance, I'll pay cash.",
    "Afternoons are best.",
)
NOON = MORNING.astimezone(NY).replace(hour=12)


@dataclass
class Clinic:
    db: Database
    attempt: CallAttempt
    emulator: GhlEmulator
    line: GhlLine
    ghl: GhlClient
    calendar: Calendar
    contact_id: str
    handler: VoiceCallHandler

    @property
    def call(self) -> LiveCall:
        assert self.attempt.twilio_call_sid is not None
        return LiveCall(
            attempt_id=self.attempt.id, call_sid=self.attempt.twilio_call_sid, stream_sid="MZ1"
        )


@pytest.fixture
async def clinic(settings: Settings, db: Database) -> AsyncIterator[Clinic]:
    attempt = await answered(db)
    emulator = GhlEmulator(clock=ManualClock(MORNING), seed=5)
    await asyncio.to_thread(emulator.warm_spec)
    async with db.transaction() as session:
        location = await session.get_one(Location, attempt.location_id)
        lead = await session.get_one(Lead, attempt.lead_id)
        ghl_location = emulator.seed_location(id=location.ghl_location_id, name=location.name)
        pit = emulator.seed_pit(location_id=ghl_location.id)
        contact = emulator.seed_contact(
            location_id=ghl_location.id, id=lead.ghl_contact_id, first_name="Avery"
        )
        hours = {day: [("09:00", "17:00")] for day in range(5)}
        calendar = emulator.seed_calendar(
            location_id=ghl_location.id, open_hours=hours, team_member_ids=[MEMBER]
        )
        location.calendar_id = calendar.id
        location.options = {**location.options, "crm": {"calendar_user_id": MEMBER}}
        lead.first_name = "Avery"
    line = GhlLine(emulator)
    ghl = ghl_client(line, {ghl_location.id: pit.token})
    handler = VoiceCallHandler(settings=settings, db=db, clock=Clock(MORNING), ghl=ghl)
    try:
        yield Clinic(db, attempt, emulator, line, ghl, calendar, contact.id, handler)
    finally:
        await ghl.aclose()


async def play(start: CallStart, utterance: str) -> AgentTurn:
    """One caller turn, its actions carried out by the call's sink (as the pipeline does)."""
    turn = AgentTurn(sentences=[], actions=[])
    async for event in start.agent.respond(utterance):
        if isinstance(event, Say):
            turn.sentences.append(event.text)
        else:
            turn.actions.append(event.action)
            await start.actions(event.action)
    return turn


async def to_the_offer(start: CallStart) -> AgentTurn:
    await collect(start.agent.opening())
    turn = AgentTurn(sentences=[], actions=[])
    for line in TO_THE_OFFER:
        turn = await play(start, line)
    return turn


async def end(clinic: Clinic, start: CallStart) -> CallRecord:
    state = start.agent.state
    record = await start.actions.finished(
        qualification=state.qualification, transcript=list(state.transcript)
    )
    assert start.calendar is not None
    await start.calendar.aclose()
    return record


async def test_the_context_names_the_calendar_the_contact_and_the_team_member(
    clinic: Clinic,
) -> None:
    answered = await answered_call(db=clinic.db, attempt_id=clinic.attempt.id, now=MORNING)

    target = answered.calendar
    assert target is not None
    assert (target.calendar_id, target.contact_id) == (clinic.calendar.id, clinic.contact_id)
    assert target.assigned_user_id == MEMBER and target.timezone == "America/New_York"
    assert "Avery" not in repr(target)


async def test_a_clinic_without_a_calendar_offers_none(clinic: Clinic) -> None:
    async with clinic.db.transaction() as session:
        location = await session.get_one(Location, clinic.attempt.location_id)
        location.calendar_id = None

    start = await clinic.handler.begin(clinic.call)
    offer = await to_the_offer(start)

    assert start.calendar is None and clinic.line.exchanges == []
    assert "Would either" not in offer.text


async def test_the_fetch_starts_at_answer_and_the_greeting_does_not_wait_for_it(
    clinic: Clinic,
) -> None:
    clinic.line.delays[("GET", SLOTS_PATH)] = 2.0  # a slow GHL

    answered_at = time.monotonic()
    start = await clinic.handler.begin(clinic.call)
    opening = await collect(start.agent.opening())
    greeted_at = time.monotonic()

    assert opening.text.startswith("Hi Avery")
    assert greeted_at - answered_at < 0.5
    # Nothing but the started task asked GHL: the request goes out on its own, at once.
    await asyncio.wait_for(clinic.line.arrived.wait(), timeout=0.5)
    (fetch,) = clinic.line.sent("GET", SLOTS_PATH)
    assert fetch.started - answered_at < 0.5
    assert fetch.answered is None  # still running: the greeting did not wait for it
    assert start.calendar is not None
    await start.calendar.aclose()


async def test_slots_not_in_by_the_offer_are_waited_for_briefly_then_skipped(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripted, "SLOTS_WAIT_S", 0.3)
    clinic.line.delays[("GET", SLOTS_PATH)] = 30.0  # GHL never answers during the call

    start = await clinic.handler.begin(clinic.call)
    await collect(start.agent.opening())
    for line in TO_THE_OFFER[:-1]:
        await play(start, line)
    started = time.monotonic()
    after = await play(start, TO_THE_OFFER[-1])
    waited = time.monotonic() - started

    assert 0.3 <= waited < 1.5, waited
    assert "Would either" not in after.text and "Did I get that right?" in after.text
    for line in ("Yes.", "No."):
        await play(start, line)
    record = await end(clinic, start)
    assert record.outcome == Outcome.QUALIFIED.value and record.booked_slot_at is None


async def test_a_slot_chosen_on_the_call_is_booked_in_ghl_and_recorded_with_its_id(
    clinic: Clinic,
) -> None:
    start = await clinic.handler.begin(clinic.call)

    offer = await to_the_offer(start)
    assert "Wednesday" in offer.text and "at 12pm" in offer.text
    chosen = await play(start, "The first one.")
    (booking,) = clinic.line.sent("POST", BOOK_PATH)

    assert chosen.actions == [BookSlot(start=NOON)]
    (appointment,) = clinic.emulator.state.appointments_of(clinic.contact_id)
    assert appointment.start == NOON and appointment.assigned_user_id == MEMBER
    assert booking.status == 200 and booking.body["title"] == "Avery - Booked by phone"
    assert any(s.startswith("You're booked for Wednesday") for s in chosen.sentences)
    for line in ("Yes.", "No."):
        await play(start, line)
    record = await end(clinic, start)
    assert record.ghl_appointment_id == appointment.id
    assert record.booked_slot_at == NOON and record.outcome == Outcome.BOOKED.value


async def test_a_booking_answered_after_the_budget_is_recorded_once_ghl_holds_it(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scripted, "BOOKING_BUDGET_S", 0.1)
    clinic.line.delays[("POST", BOOK_PATH)] = 0.6

    start = await clinic.handler.begin(clinic.call)
    await to_the_offer(start)
    chosen = await play(start, "The first one.")

    assert chosen.sentences[0] == "Let me grab that for you."
    assert "team will confirm" in chosen.sentences[1]
    assert chosen.actions == [BookSlot(start=NOON)]
    assert start.actions.taken.appointment_id is None  # not held when the caller was told
    for line in ("Yes.", "No."):
        await play(start, line)
    assert start.agent.state.qualification.outcome is Outcome.BOOKING_PENDING

    record = await end(clinic, start)

    (appointment,) = clinic.emulator.state.appointments_of(clinic.contact_id)
    assert record.ghl_appointment_id == appointment.id
    assert record.outcome == Outcome.BOOKED.value


async def test_a_call_cut_off_while_ghl_books_keeps_the_slot_ghl_holds(clinic: Clinic) -> None:
    clinic.line.delays[("POST", BOOK_PATH)] = 1.0  # past the filler's 0.3 s
    start = await clinic.handler.begin(clinic.call)
    await to_the_offer(start)

    # The caller hangs up while GHL works: the pipeline stops the agent mid-turn.
    turn = cast(AsyncGenerator[TurnEvent, None], start.agent.respond("The first one."))
    async with contextlib.aclosing(turn) as events:
        assert await anext(events) == Say("Let me grab that for you.")

    record = await end(clinic, start)

    (appointment,) = clinic.emulator.state.appointments_of(clinic.contact_id)
    assert record.ghl_appointment_id == appointment.id and record.booked_slot_at == NOON
    assert record.outcome == Outcome.BOOKED.value
