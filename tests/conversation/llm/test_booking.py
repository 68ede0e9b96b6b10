"""The LLM agent books through the calendar and never claims a booking the calendar lacks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from dentalvoice.conversation.agent import (
    BookSlot,
    CallContext,
    CallState,
    Do,
    EndCall,
    Say,
    TurnEvent,
    collect,
)
from dentalvoice.conversation.llm import agent as llm_agent
from dentalvoice.conversation.qualification import Availability, Outcome
from dentalvoice.emulators.openai import FakeOpenAI, FixedPolicy, PolicyReply
from tests.conversation.calendars import FakeCalendar

from .conftest import FALLBACK_LINE, SLOT_1, SLOT_2, FakeFallback, MakeAgent

SLOTS = (SLOT_1, SLOT_2)
BOOK_1 = ("book_slot", {"start": SLOT_1.isoformat()})


@pytest.fixture
def calendar() -> FakeCalendar:
    return FakeCalendar(SLOTS)


@pytest.fixture
def context(context: CallContext, calendar: FakeCalendar) -> CallContext:
    return replace(context, calendar=calendar)


def reply(content: str = "", *calls: tuple[str, dict[str, Any] | str]) -> FixedPolicy:
    return FixedPolicy(PolicyReply(content, list(calls)))


async def test_a_claim_in_the_reply_waits_for_the_calendar_and_is_said_in_its_words(
    make_agent: MakeAgent, app: FakeOpenAI, calendar: FakeCalendar, state: CallState
) -> None:
    calendar.answer = asyncio.Event()
    app.policy = reply("Great. You're booked for Tuesday at 9am! Anything else?", BOOK_1)
    events = make_agent().respond("The first one.")

    first = [await anext(events), await anext(events)]
    assert first == [Say("Great."), Say("Let me grab that for you.")]
    waiting = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "the agent spoke before the calendar answered"

    calendar.answer.set()
    rest: list[TurnEvent] = [await waiting, *[e async for e in events]]
    assert rest == [
        Do(BookSlot(start=SLOT_1)),
        Say("You're booked for Tuesday, March 4 at 9am."),
        Say("You'll get a confirmation from Bright Smiles Dental."),
        Say("Anything else?"),
    ]
    assert state.qualification.preferred_slot == SLOT_1
    assert state.booking is not None and state.booking.held


async def test_a_slow_calendar_is_not_called_booked(
    make_agent: MakeAgent,
    app: FakeOpenAI,
    calendar: FakeCalendar,
    state: CallState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llm_agent, "BOOKING_BUDGET_S", 0.1)
    calendar.answer = asyncio.Event()
    app.policy = reply(
        "You're booked! Have a great day!",
        BOOK_1,
        ("set_outcome", {"outcome": "booked"}),
        ("end_call", {}),
    )

    turn = await collect(make_agent().respond("The first one, bye."))

    assert turn.sentences == [
        "Let me grab that for you.",
        "I've noted Tuesday, March 4 at 9am for you, and the team will confirm it with you "
        "shortly.",
        "Have a great day!",
    ]
    assert turn.actions == [BookSlot(start=SLOT_1), EndCall()]
    # The model said "booked"; the calendar did not hold the slot.
    assert state.qualification.outcome is Outcome.BOOKING_PENDING
    calendar.answer.set()


async def test_a_reply_of_tool_calls_gets_the_booking_in_its_result(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = FixedPolicy(
        PolicyReply("", [BOOK_1]), PolicyReply("You're booked for Tuesday at 9am. Anything else?")
    )

    turn = await collect(make_agent().respond("The first one."))

    assert turn.sentences == ["You're booked for Tuesday at 9am.", "Anything else?"]
    assert turn.actions == [BookSlot(start=SLOT_1)]
    result = json.loads(app.requests[1].messages[-1].text)
    assert result == {"ok": True, "status": "held"}


async def test_a_taken_slot_is_reported_with_the_next_one_to_offer(
    make_agent: MakeAgent, app: FakeOpenAI, calendar: FakeCalendar, state: CallState
) -> None:
    calendar.taken = {SLOT_1}
    app.policy = FixedPolicy(
        PolicyReply("", [BOOK_1]),
        PolicyReply("Sorry, that one just went. I have 2:30 the same day. Would that work?"),
    )

    turn = await collect(make_agent().respond("The first one."))

    assert turn.actions == [] and turn.text.endswith("Would that work?")
    result = json.loads(app.requests[1].messages[-1].text)
    assert result["ok"] is False and result["status"] == "taken"
    assert result["next_slot"] == SLOT_2.isoformat()
    assert state.taken_slots == [SLOT_1] and state.qualification.preferred_slot is None
    # The next prompt no longer lists the taken slot.
    app.policy = reply("Okay.")
    await collect(make_agent().respond("Hmm."))
    assert SLOT_1.isoformat() not in app.requests[-1].system_prompt
    assert SLOT_2.isoformat() in app.requests[-1].system_prompt


async def test_a_taken_slot_in_a_spoken_reply_gets_the_scripts_other_offer(
    make_agent: MakeAgent, app: FakeOpenAI, calendar: FakeCalendar
) -> None:
    calendar.taken = {SLOT_1}
    app.policy = reply("Perfect, you're all set. Anything else?", BOOK_1)

    turn = await collect(make_agent().respond("The first one."))

    assert turn.sentences == [
        "Sorry, that time was just taken.",
        "I can offer you Tuesday, March 4 at 2:30pm instead.",
        "Would that time work?",
    ]
    assert turn.actions == []


async def test_a_booking_claim_without_a_booking_is_never_said(
    make_agent: MakeAgent, app: FakeOpenAI
) -> None:
    app.policy = reply("You're all set for Tuesday. Anything else?")

    turn = await collect(make_agent().respond("Sounds good."))

    assert turn.sentences == ["Anything else?"]


async def test_slots_on_their_way_are_waited_for_only_when_the_offer_is_due(
    make_agent: MakeAgent,
    app: FakeOpenAI,
    calendar: FakeCalendar,
    state: CallState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llm_agent, "SLOTS_WAIT_S", 0.2)
    calendar.slots_ready = asyncio.Event()  # never ready
    agent = make_agent()
    await collect(agent.opening())
    app.policy = reply("What can we help you with?")

    loop = asyncio.get_running_loop()
    started = loop.time()
    await collect(agent.respond("Yes."))
    assert loop.time() - started < 0.15 and state.free_slots is None

    state.qualification.availability = Availability(raw="mornings")
    started = loop.time()
    await collect(agent.respond("Mornings."))
    assert loop.time() - started >= 0.2
    assert state.free_slots == ()
    assert "- none" in app.requests[-1].system_prompt


async def test_a_reply_that_only_claims_a_booking_goes_to_the_fallback(
    make_agent: MakeAgent, app: FakeOpenAI, fallback: FakeFallback
) -> None:
    app.policy = reply("You're booked!")

    turn = await collect(make_agent().respond("Sounds good."))

    assert turn.sentences == [FALLBACK_LINE] and fallback.turns == ["Sounds good."]
