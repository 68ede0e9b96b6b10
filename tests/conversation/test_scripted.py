"""The scripted agent behind the guards, driven turn by turn with text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.conversation.agent import (
    Agent,
    AgentTurn,
    BookSlot,
    CallContext,
    CallState,
    EndCall,
    MarkDoNotCall,
    Say,
    ScheduleCallback,
    Transfer,
    TransferReason,
    TurnEvent,
    collect,
)
from dentalvoice.conversation.factory import build_agent
from dentalvoice.conversation.guarded import GuardedAgent
from dentalvoice.conversation.qualification import (
    InsuranceStatus,
    Outcome,
    RedFlag,
    TreatmentInterest,
    Urgency,
)
from dentalvoice.conversation.script import load_script

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 15, tzinfo=NY)  # a Tuesday


def context(**overrides: object) -> CallContext:
    values: dict[str, object] = {
        "clinic_name": "Bright Test Dental",
        "timezone": "America/New_York",
        "now": NOW,
        "lead_first_name": "Testina",
    }
    values.update(overrides)
    return CallContext(**values)  # type: ignore[arg-type]


async def talk(agent: Agent, *lines: str | None) -> list[AgentTurn]:
    turns = [await collect(agent.opening())]
    for line in lines:
        if agent.state.finished:
            break
        turns.append(await collect(agent.respond(line)))
    return turns


async def test_opening_says_ai_clinic_and_how_to_opt_out() -> None:
    agent = build_agent(context=context())
    opening = await collect(agent.opening())
    first = opening.sentences[0]
    assert "AI" in first and "Bright Test Dental" in first and "Testina" in first
    assert "stop" in opening.text.lower()
    assert opening.text.endswith("?")


async def test_a_standard_call_fills_the_qualification_and_ends() -> None:
    agent = build_agent(context=context())
    turns = await talk(
        agent,
        "Yes, I can talk for a bit.",
        "Yes, this is Testina.",
        "I've had pain in my back molar for about a week, it's getting worse.",
        "I'd say it's about a 6.",
        "No, nothing like that.",
        "It's been about two years.",
        "I'd be new.",
        "Yes, I have Blue Cross Blue Shield.",
        "Saturday mornings work best.",
        "Yes, that's right.",
        "No, that covers it.",
    )
    q = agent.state.qualification
    assert agent.state.finished
    assert q.outcome is Outcome.QUALIFIED
    assert q.pain_level == 6
    assert q.urgency is Urgency.URGENT
    assert q.insurance.status is InsuranceStatus.HAS
    assert q.insurance.carrier == "Blue Cross Blue Shield"
    assert q.new_patient is True
    assert q.last_visit is not None and "2 years" in q.last_visit
    assert q.availability is not None and [d.value for d in q.availability.days] == ["sat"]
    assert isinstance(turns[-1].actions[-1], EndCall)
    assert q.summary and "Pain: 6/10" in q.summary


async def test_several_answers_in_one_breath_skip_their_questions() -> None:
    agent = build_agent(context=context())
    await talk(
        agent,
        "Sure. I lost a tooth and want an implant, no pain at all, I have MetLife and I'd be new.",
    )
    q = agent.state.qualification
    assert q.treatment_interest is TreatmentInterest.IMPLANTS
    assert q.pain_level == 0
    assert q.insurance.carrier == "MetLife"
    assert q.new_patient is True
    asked = " ".join(text for who, text in agent.state.transcript if who == "agent").lower()
    assert "insurance" not in asked and "new patient" not in asked


@pytest.mark.parametrize(
    "reply",
    ["Here. I have a minute.", "I've got a few minutes.", "Hello? Yes, go ahead."],
    ids=["misheard-word-first", "got-minutes", "hello-then-yes"],
)
async def test_the_first_clause_with_an_answer_answers_is_now_a_good_time(reply: str) -> None:
    # Speech recognition often turns a first word into another ("Sure" heard as "Here"):
    # the answer after it still counts.
    agent = build_agent(context=context())
    turns = await talk(agent, reply)
    # The call goes on to its next question: not asked again, not taken for "call me later".
    assert not turns[1].text.startswith(("Sorry", "Of course")), turns[1].text
    assert turns[1].text.endswith("?")


async def test_silence_is_asked_again_twice_then_goes_to_a_human() -> None:
    agent = build_agent(context=context())
    turns = await talk(agent, "Yes.", None, None, None)
    assert [t.text.startswith("Sorry") for t in turns[2:]] == [True, True, False]
    transfer = turns[-1].actions[-1]
    assert isinstance(transfer, Transfer) and transfer.reason is TransferReason.TECHNICAL
    assert agent.state.qualification.outcome is Outcome.TECHNICAL_TRANSFER


async def test_robot_question_is_answered_honestly_and_the_call_goes_on() -> None:
    agent = build_agent(context=context())
    turns = await talk(agent, "Wait, is this a robot?")
    assert "AI" in turns[1].text
    assert turns[1].text.endswith("?")
    assert not agent.state.finished


async def test_call_me_at_five_schedules_a_callback() -> None:
    agent = build_agent(context=context())
    turns = await talk(agent, "Not now, can you call me back at 5?")
    callback = next(a for a in turns[1].actions if isinstance(a, ScheduleCallback))
    assert callback.at == datetime(2026, 11, 24, 17, 0, tzinfo=NY)
    assert agent.state.qualification.outcome is Outcome.CALLBACK_REQUESTED


async def test_call_later_without_a_time_asks_for_one() -> None:
    agent = build_agent(context=context())
    turns = await talk(agent, "I'm driving right now.", "Tomorrow at 3pm.")
    assert "when" in turns[1].text.lower()
    callback = next(a for a in turns[2].actions if isinstance(a, ScheduleCallback))
    assert callback.at == datetime(2026, 11, 25, 15, 0, tzinfo=NY)


async def test_wrong_number() -> None:
    agent = build_agent(context=context())
    await talk(agent, "Yes.", "No, you have the wrong number.")
    assert agent.state.qualification.outcome is Outcome.WRONG_NUMBER
    assert agent.state.finished


async def test_someone_else_answering_ends_without_health_questions() -> None:
    agent = build_agent(context=context())
    turns = await talk(agent, "Sure.", "No, this is her husband.")
    assert agent.state.finished
    assert "pain" not in turns[-1].text.lower()
    assert agent.state.qualification.outcome is Outcome.INCOMPLETE


@pytest.mark.parametrize("when", ["opening", "mid-call"])
async def test_opt_out_at_any_point(when: str) -> None:
    agent = build_agent(context=context())
    lines = (
        ["Please stop calling me."]
        if when == "opening"
        else ["Yes.", "Yes.", "Remove me from your list."]
    )
    turns = await talk(agent, *lines)
    assert [type(a) for a in turns[-1].actions] == [MarkDoNotCall, EndCall]
    assert agent.state.qualification.opted_out is True
    assert agent.state.qualification.outcome is Outcome.OPTED_OUT


async def test_red_flag_goes_to_a_human_at_once() -> None:
    agent = build_agent(context=context())
    turns = await talk(
        agent, "Yes but I'm in bad pain, it's a 9 and my face is swollen and I have a fever."
    )
    transfer = turns[-1].actions[-1]
    assert isinstance(transfer, Transfer) and transfer.reason is TransferReason.EMERGENCY
    q = agent.state.qualification
    assert q.outcome is Outcome.EMERGENCY_TRANSFERRED
    assert q.pain_level == 9
    assert RedFlag.SEVERE_PAIN in q.red_flags and RedFlag.SWELLING_WITH_FEVER in q.red_flags
    assert len(turns[-1].sentences) <= 2


async def test_after_hours_breathing_trouble_says_911() -> None:
    agent = build_agent(context=context(transfer_available=False))
    turns = await talk(
        agent, "Yes.", "Yes.", "My jaw is swollen and I'm having trouble swallowing."
    )
    assert "911" in turns[-1].text
    assert agent.state.qualification.outcome is Outcome.EMERGENCY_AFTER_HOURS
    assert not any(isinstance(a, Transfer) for a in turns[-1].actions)


async def test_booking_one_of_the_offered_slots() -> None:
    slots = (
        datetime(2026, 11, 25, 9, 0, tzinfo=NY),
        datetime(2026, 11, 25, 14, 0, tzinfo=NY),
        datetime(2026, 11, 26, 15, 0, tzinfo=NY),
    )
    agent = build_agent(context=context(free_slots=slots))
    turns = await talk(
        agent,
        "Yes.",
        "Yes it's me.",
        "I'd like a cleaning.",
        "About a year ago.",
        "I've been there before.",
        "No insurance, I'll pay cash.",
        "Afternoons are best.",
        "The first one.",
        "Yes.",
        "No.",
    )
    booked = [a for t in turns for a in t.actions if isinstance(a, BookSlot)]
    assert booked == [BookSlot(start=slots[1])]
    q = agent.state.qualification
    assert q.preferred_slot == slots[1]
    assert q.outcome is Outcome.BOOKED


class _AdviceGiver(Agent):
    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Hi, this is an AI assistant.")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        yield Say("You should take 600 mg of ibuprofen every six hours.")
        yield Say("Rinse with warm salt water.")
        yield Say("When would you like to come in?")


async def test_clinical_advice_never_leaves_the_agent() -> None:
    agent = GuardedAgent(_AdviceGiver(CallState(context=context())), script=load_script())
    turn = await collect(agent.respond("My tooth hurts, what should I do?"))
    assert "ibuprofen" not in turn.text and "salt" not in turn.text
    assert "advice" in turn.sentences[0].lower()
    assert turn.sentences[-1] == "When would you like to come in?"
