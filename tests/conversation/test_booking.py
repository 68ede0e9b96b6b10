"""The scripted agent offers the calendar's slots and confirms only what the calendar holds."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from dentalvoice.conversation import scripted
from dentalvoice.conversation.agent import (
    Agent,
    AgentTurn,
    BookSlot,
    Say,
    TurnEvent,
    collect,
)
from dentalvoice.conversation.calendar import BookingStatus, StaticCalendar
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.qualification import Outcome
from tests.conversation.calendars import FakeCalendar
from tests.conversation.test_scripted import NY, context

WED_9 = datetime(2026, 11, 25, 9, 0, tzinfo=NY)
WED_2 = datetime(2026, 11, 25, 14, 0, tzinfo=NY)
THU_3 = datetime(2026, 11, 26, 15, 0, tzinfo=NY)
FRI_1 = datetime(2026, 11, 27, 13, 0, tzinfo=NY)
SLOTS = (WED_9, WED_2, THU_3, FRI_1)
# Up to the offer; "Afternoons are best." leaves Wednesday 2pm and Thursday 3pm to offer.
TO_THE_OFFER = (
    "Yes.",
    "Yes it's me.",
    "I'd like a cleaning.",
    "About a year ago.",
    "I've been there before.",
    "No insurance, I'll pay cash.",
    "Afternoons are best.",
)
CLAIM = re.compile(r"you're booked|booked for", re.I)


async def to_the_offer(calendar: FakeCalendar | StaticCalendar) -> tuple[Agent, AgentTurn]:
    agent = build_agent(context=context(calendar=calendar))
    await collect(agent.opening())
    turn = AgentTurn(sentences=[], actions=[])
    for line in TO_THE_OFFER:
        turn = await collect(agent.respond(line))
    return agent, turn


async def finish(agent: Agent, *lines: str) -> list[AgentTurn]:
    return [await collect(agent.respond(line)) for line in lines if not agent.state.finished]


def agent_text(agent: Agent) -> str:
    return " ".join(text for who, text in agent.state.transcript if who == "agent")


def said(events: list[TurnEvent]) -> str:
    return " ".join(e.text for e in events if isinstance(e, Say))


async def test_the_slot_is_called_booked_only_once_the_calendar_holds_it() -> None:
    answer = asyncio.Event()
    calendar = FakeCalendar(SLOTS, answer=answer)
    agent, offer = await to_the_offer(calendar)
    assert "Wednesday, November 25 at 2pm" in offer.text and "Would either" in offer.text

    events: AsyncIterator[TurnEvent] = agent.respond("The first one.")
    # The calendar is still working: the caller hears a filler, not silence, and not a booking.
    assert await anext(events) == Say("Let me grab that for you.")
    assert calendar.booked == [WED_2]
    next_event = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.05)
    assert not next_event.done(), "the agent spoke before the calendar answered"

    answer.set()
    rest = [await next_event, *[e async for e in events]]
    assert rest[0] == Say("You're booked for Wednesday, November 25 at 2pm.")
    assert [e.action for e in rest if not isinstance(e, Say)] == [BookSlot(start=WED_2)]
    assert "Did I get that right?" in said(rest)

    await finish(agent, "Yes.", "No.")
    assert agent.state.qualification.preferred_slot == WED_2
    assert agent.state.qualification.outcome is Outcome.BOOKED
    assert agent.state.booking is not None and agent.state.booking.appointment_id == "appt-1"


async def test_a_calendar_answering_at_once_needs_no_filler() -> None:
    agent, _ = await to_the_offer(StaticCalendar(SLOTS))

    turn = await collect(agent.respond("The second one."))

    assert turn.sentences[0] == "You're booked for Thursday, November 26 at 3pm."
    assert turn.actions == [BookSlot(start=THU_3)]


async def test_a_slot_just_taken_gets_one_other_offer_and_that_one_is_booked() -> None:
    calendar = FakeCalendar(SLOTS, taken=[WED_2])
    agent, _ = await to_the_offer(calendar)

    taken = await collect(agent.respond("The first one."))
    # The next slot that fits the caller's afternoons.
    assert taken.sentences[0] == "Sorry, that time was just taken."
    assert "Thursday, November 26 at 3pm" in taken.text and taken.text.endswith("?")
    assert taken.actions == [] and not CLAIM.search(taken.text)

    booked = await collect(agent.respond("Yes, that works."))
    assert booked.sentences[0] == "You're booked for Thursday, November 26 at 3pm."
    assert booked.actions == [BookSlot(start=THU_3)]
    assert calendar.booked == [WED_2, THU_3]
    assert agent.state.taken_slots == [WED_2]

    await finish(agent, "Yes.", "No.")
    assert agent.state.qualification.outcome is Outcome.BOOKED


async def test_a_second_taken_slot_leaves_the_time_to_the_team() -> None:
    calendar = FakeCalendar(SLOTS, taken=[WED_2, THU_3])
    agent, _ = await to_the_offer(calendar)

    await collect(agent.respond("The first one."))
    turn = await collect(agent.respond("Yes."))

    assert turn.sentences[0] == "I've noted that."
    assert "team will call you to find a time" in turn.text
    assert turn.actions == [] and calendar.booked == [WED_2, THU_3]
    await finish(agent, "Yes.", "No.")
    q = agent.state.qualification
    assert q.preferred_slot is None and q.outcome is Outcome.QUALIFIED
    assert not CLAIM.search(agent_text(agent))


async def test_a_slow_calendar_gets_the_team_will_confirm_not_booked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scripted, "BOOKING_BUDGET_S", 0.1)
    answer = asyncio.Event()
    calendar = FakeCalendar(SLOTS, answer=answer)
    agent, _ = await to_the_offer(calendar)

    started = time.monotonic()
    turn = await collect(agent.respond("The first one."))

    assert 0.1 <= time.monotonic() - started < 1.0
    assert turn.sentences[:2] == [
        "Let me grab that for you.",
        "I've noted Wednesday, November 25 at 2pm for you, and the team will confirm it with "
        "you shortly.",
    ]
    # The chosen slot is kept for the CRM write-back (no appointment id: not held).
    assert turn.actions == [BookSlot(start=WED_2)]
    assert "2pm requested" in turn.text and not CLAIM.search(turn.text)
    await finish(agent, "Yes.", "No.")
    q = agent.state.qualification
    assert q.preferred_slot == WED_2 and q.outcome is Outcome.BOOKING_PENDING
    assert q.summary is not None and "not confirmed" in q.summary
    assert not CLAIM.search(agent_text(agent))

    # The booking was not abandoned: it ends when the calendar answers.
    answer.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [r.status for r in calendar.answered] == [BookingStatus.HELD]


async def test_a_failing_calendar_gets_the_team_will_confirm() -> None:
    agent, _ = await to_the_offer(FakeCalendar(SLOTS, unavailable=True))

    turn = await collect(agent.respond("The first one."))

    assert "team will confirm" in turn.sentences[0]
    assert turn.actions == [BookSlot(start=WED_2)]
    await finish(agent, "Yes.", "No.")
    assert agent.state.qualification.outcome is Outcome.BOOKING_PENDING
    assert not CLAIM.search(agent_text(agent))


async def test_without_a_calendar_a_preference_is_taken_and_the_team_calls_back() -> None:
    agent, after_availability = await to_the_offer(StaticCalendar())

    assert "Would either" not in after_availability.text
    assert "Did I get that right?" in after_availability.text
    turns = await finish(agent, "Yes.", "No.")
    q = agent.state.qualification
    assert q.outcome is Outcome.QUALIFIED and q.availability is not None
    assert "will be in touch" in turns[-1].text
    assert not any(isinstance(a, BookSlot) for a in agent.state.actions)


async def test_slots_still_on_their_way_are_waited_for_briefly_at_the_offer_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scripted, "SLOTS_WAIT_S", 0.2)
    calendar = FakeCalendar(SLOTS, slots_ready=asyncio.Event())  # never ready
    agent = build_agent(context=context(calendar=calendar))
    await collect(agent.opening())
    durations = []
    for line in TO_THE_OFFER:
        started = time.monotonic()
        turn = await collect(agent.respond(line))
        durations.append(time.monotonic() - started)

    # The turns before the offer did not wait; the one reaching it waited its bound, then
    # went on as without a calendar.
    assert max(durations[:-1]) < 0.1, durations
    assert 0.2 <= durations[-1] < 1.0, durations
    assert "Would either" not in turn.text and "Did I get that right?" in turn.text
    assert calendar.asked == 1 and calendar.booked == []
    assert agent.state.free_slots == ()


async def test_slots_arriving_within_the_bound_are_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scripted, "SLOTS_WAIT_S", 1.0)
    ready = asyncio.Event()
    calendar = FakeCalendar(SLOTS, slots_ready=ready)
    agent = build_agent(context=context(calendar=calendar))
    await collect(agent.opening())
    for line in TO_THE_OFFER[:-1]:
        await collect(agent.respond(line))

    asyncio.get_running_loop().call_later(0.1, ready.set)
    offer = await collect(agent.respond(TO_THE_OFFER[-1]))

    assert "Wednesday, November 25 at 2pm" in offer.text and "Would either" in offer.text
    # The turn that waited is counted once: played again from where it started.
    assert agent.state.caller_turns == len(TO_THE_OFFER)
    callers = [t for who, t in agent.state.transcript if who == "caller"]
    assert callers.count(TO_THE_OFFER[-1]) == 1
