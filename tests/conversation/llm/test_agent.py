"""OpenAIAgent against the fake OpenAI server, through the real SDK."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import openai
import pytest

from dentalvoice.conversation.agent import (
    BookSlot,
    CallState,
    EndCall,
    MarkDoNotCall,
    Say,
    ScheduleCallback,
    Transfer,
    TransferReason,
    collect,
)
from dentalvoice.conversation.llm import OpenAIAgent
from dentalvoice.conversation.llm.prompt import SILENCE_NOTE
from dentalvoice.conversation.qualification import InsuranceStatus, Outcome, Weekday
from dentalvoice.conversation.script import Script, render
from dentalvoice.emulators.openai import (
    FakeOpenAI,
    Fault,
    FixedPolicy,
    PolicyReply,
    ScriptFollowingPolicy,
    serve_fake_openai,
)

from .conftest import CALL_START, FALLBACK_LINE, SLOT_1, FakeFallback, MakeAgent


def reply(content: str = "", *calls: tuple[str, dict[str, Any] | str]) -> FixedPolicy:
    return FixedPolicy(PolicyReply(content, list(calls)))


# -- the opening ------------------------------------------------------------------------------


async def test_opening_is_the_fixed_script_and_says_it_is_an_ai(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, script: Script
) -> None:
    turn = await collect(make_agent().opening())

    expected = render(script.opening, state.context)
    assert turn.text == expected
    assert "AI" in turn.text
    assert "stop" in turn.text  # how to opt out
    assert len(turn.sentences) == 3
    assert app.requests == []  # the model is never asked for the opening
    assert state.transcript == [("agent", expected)]


# -- streaming --------------------------------------------------------------------------------


async def test_first_sentence_is_yielded_before_the_stream_ends(
    state: CallState, script: Script, fallback: FakeFallback
) -> None:
    # Over real HTTP: the in-process ASGI transport delivers a body only once it is complete.
    second = "This second sentence is long enough to take a while to stream out word by word."
    app = FakeOpenAI(FixedPolicy(PolicyReply(f"Thanks for that. {second}")))
    app.chunk_delay_s = 0.02
    seen: list[tuple[object, int, int]] = []
    async with (
        serve_fake_openai(app) as base_url,
        openai.AsyncOpenAI(api_key="test", base_url=base_url) as client,
    ):
        agent = OpenAIAgent(state, script=script, client=client, fallback=fallback)
        async for event in agent.respond("Yes, it is."):
            seen.append((event, app.streams_completed, app.chunks_sent))

    first_event, completed_then, chunks_then = seen[0]
    assert first_event == Say("Thanks for that.")
    assert completed_then == 0  # the server was still streaming
    assert chunks_then < app.chunks_sent
    assert [e for e, _, _ in seen] == [Say("Thanks for that."), Say(second)]
    assert app.streams_completed == 1


async def test_caller_barging_in_keeps_what_was_said(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = reply("One. Two. Three.")
    turn = make_agent().respond("Hello?")
    first = await anext(turn)
    await turn.aclose()  # the caller spoke over the agent

    assert first == Say("One.")
    assert state.transcript == [("caller", "Hello?"), ("agent", "One.")]


# -- tool calls -------------------------------------------------------------------------------


async def test_tool_call_arguments_are_assembled_from_fragments(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.argument_piece_chars = 3
    facts = {
        "pain_level": 4,
        "new_patient": True,
        "insurance": {"status": "has", "carrier": "Delta Dental", "raw": None},
        "availability": {"days": ["tue", "thu"], "windows": [{"start": "08:00", "end": "12:00"}]},
    }
    app.policy = reply(
        "Got it.",
        ("record_qualification", facts),
        ("record_qualification", {"chief_complaint": "a chipped tooth"}),
    )

    turn = await collect(make_agent().respond("Sure."))

    q = state.qualification
    assert turn.sentences == ["Got it."]
    assert turn.actions == []
    assert q.pain_level == 4
    assert q.new_patient is True
    assert q.insurance.status is InsuranceStatus.HAS
    assert q.insurance.carrier == "Delta Dental"
    assert q.availability is not None
    assert q.availability.days == [Weekday.TUE, Weekday.THU]
    assert q.availability.windows[0].start == "08:00"
    assert q.chief_complaint == "a chipped tooth"
    assert not state.finished


async def test_invalid_tool_arguments_are_ignored_without_phi_in_logs(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, log_lines: list[str]
) -> None:
    app.policy = reply(
        "Okay.",
        (
            "record_qualification",
            {
                "pain_level": 42,
                "treatment_interest": "teeth stuff",
                "insurance": {"status": "maybe", "carrier": "Aetna Secret Plan"},
                "new_patient": True,
                "favourite_colour": "teal",
            },
        ),
        ("end_call", "{not json"),
        ("transfer_call", {"reason": "boredom", "summary": "Maria wants out"}),
        ("launch_rockets", {}),
    )

    turn = await collect(make_agent().respond("Yes."))

    q = state.qualification
    assert turn.sentences == ["Okay."]
    assert turn.actions == []
    assert not state.finished
    assert q.pain_level is None
    assert q.treatment_interest is None
    assert q.insurance.status is None
    assert q.insurance.carrier == "Aetna Secret Plan"
    assert q.new_patient is True
    logged = "\n".join(log_lines)
    assert "pain_level" in logged and "insurance.status" in logged
    for secret in ("42", "teeth stuff", "maybe", "Aetna", "Maria", "teal", "boredom"):
        assert secret not in logged


async def test_book_slot_outside_the_free_slots_is_ignored(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    not_free = SLOT_1 + timedelta(hours=1)
    app.policy = reply("Let me check.", ("book_slot", {"start": not_free.isoformat()}))

    turn = await collect(make_agent().respond("Ten o'clock please."))

    assert turn.actions == []
    assert state.qualification.preferred_slot is None


async def test_book_slot_matching_a_free_slot_books_it(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    same_instant_in_utc = SLOT_1.astimezone(UTC).isoformat()
    app.policy = reply("You're booked.", ("book_slot", {"start": same_instant_in_utc}))

    turn = await collect(make_agent().respond("The first one."))

    assert turn.actions == [BookSlot(start=SLOT_1)]
    assert state.qualification.preferred_slot == SLOT_1


async def test_only_tool_calls_makes_one_follow_up_request_for_the_words(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = FixedPolicy(
        PolicyReply(
            "",
            [
                ("record_qualification", {"new_patient": False}),
                ("set_outcome", {"outcome": "qualified"}),
                ("end_call", {}),
            ],
        ),
        PolicyReply("Thanks, Maria. Goodbye!"),
    )

    turn = await collect(make_agent().respond("I've been there before. Bye."))

    assert turn.sentences == ["Thanks, Maria.", "Goodbye!"]
    assert turn.actions == [EndCall()]
    assert state.finished
    assert state.qualification.new_patient is False
    assert state.qualification.outcome is Outcome.QUALIFIED
    assert len(app.requests) == 2
    follow_up = app.requests[1]
    assert follow_up.tool_choice == "none"
    assistant, *results = follow_up.messages[-4:]
    assert assistant.role == "assistant"
    assert assistant.tool_calls is not None
    ids = [call["id"] for call in assistant.tool_calls]
    assert [m.role for m in results] == ["tool", "tool", "tool"]
    assert [m.tool_call_id for m in results] == ids
    assert all(json.loads(m.text)["ok"] for m in results)


async def test_tool_results_tell_the_model_what_was_refused(
    make_agent: MakeAgent, app: FakeOpenAI
) -> None:
    app.policy = FixedPolicy(
        PolicyReply("", [("book_slot", {"start": "2030-01-01T09:00:00+00:00"})]),
        PolicyReply("That time isn't open."),
    )

    turn = await collect(make_agent().respond("New Year's Day 2030."))

    assert turn.sentences == ["That time isn't open."]
    assert turn.actions == []
    result = json.loads(app.requests[1].messages[-1].text)
    assert result == {"ok": False, "error": "that is not one of the free slots"}


async def test_transfer_ends_the_turn_with_the_transfer(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = reply(
        "I'll connect you now.",
        ("transfer_call", {"reason": "requested", "summary": "Wants to talk to the front desk."}),
        ("end_call", {}),
    )

    turn = await collect(make_agent().respond("Can I talk to a person?"))

    assert turn.actions == [
        Transfer(reason=TransferReason.REQUESTED, summary="Wants to talk to the front desk.")
    ]
    assert state.finished
    assert state.qualification.summary is not None


async def test_do_not_call_marks_and_hangs_up(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = reply("Understood. Goodbye.", ("mark_do_not_call", {}))

    turn = await collect(make_agent().respond("Take me off your list."))

    assert turn.actions == [MarkDoNotCall(), EndCall()]
    assert state.finished
    assert state.qualification.opted_out
    assert state.qualification.outcome is Outcome.OPTED_OUT


async def test_schedule_callback_in_the_future_only(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    later = CALL_START + timedelta(hours=5)
    app.policy = FixedPolicy(
        PolicyReply("Sure.", [("schedule_callback", {"at": "2020-01-01T10:00:00-05:00"})]),
        PolicyReply("Talk then.", [("schedule_callback", {"at": later.isoformat()})]),
    )
    agent = make_agent()

    past = await collect(agent.respond("Call me in 2020."))
    future = await collect(agent.respond("Call me at three."))

    assert past.actions == []
    assert future.actions == [ScheduleCallback(at=later)]
    assert state.qualification.callback_time == later
    assert not state.finished  # a callback is not a hang-up until end_call


# -- failures and the fallback ------------------------------------------------------------------


async def test_timeout_hands_the_turn_to_the_fallback(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, fallback: FakeFallback
) -> None:
    app.inject(Fault.HANG)

    turn = await collect(make_agent(turn_timeout_s=0.2).respond("Yes, go ahead."))

    assert turn.sentences == [FALLBACK_LINE]
    assert fallback.turns == ["Yes, go ahead."]
    assert state.transcript == [("caller", "Yes, go ahead."), ("agent", FALLBACK_LINE)]
    assert state.caller_turns == 1


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RATE_LIMIT, Fault.BAD_CHUNK])
async def test_api_errors_hand_the_turn_to_the_fallback(
    make_agent: MakeAgent,
    app: FakeOpenAI,
    state: CallState,
    fallback: FakeFallback,
    fault: Fault,
    log_lines: list[str],
) -> None:
    app.inject(fault, times=1)

    turn = await collect(make_agent().respond("My tooth hurts."))

    assert turn.sentences == [FALLBACK_LINE]
    assert fallback.turns == ["My tooth hurts."]
    assert state.transcript.count(("caller", "My tooth hurts.")) == 1
    assert len(app.requests) == 1  # no SDK retries while the caller waits
    assert "tooth" not in "\n".join(log_lines)


async def test_empty_reply_hands_the_turn_to_the_fallback(
    make_agent: MakeAgent, app: FakeOpenAI, fallback: FakeFallback
) -> None:
    app.policy = reply("")

    turn = await collect(make_agent().respond("Hello?"))

    assert turn.sentences == [FALLBACK_LINE]
    assert fallback.turns == ["Hello?"]


async def test_failed_follow_up_hands_the_turn_to_the_fallback_without_the_actions(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, fallback: FakeFallback
) -> None:
    app.policy = FixedPolicy(
        PolicyReply("", [("record_qualification", {"pain_level": 3}), ("end_call", {})]),
        PolicyReply(""),
    )

    turn = await collect(make_agent().respond("About a three."))

    assert turn.sentences == [FALLBACK_LINE]
    assert turn.actions == []
    assert not state.finished
    assert state.qualification.pain_level == 3  # facts heard are kept for the fallback
    assert fallback.turns == ["About a three."]


async def test_failure_after_a_sentence_stops_without_repeating(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, fallback: FakeFallback
) -> None:
    app.policy = reply("First sentence here. Second one never arrives.")
    # role, "First", " sentence", " here.", " Second" — then the error event.
    app.inject(Fault.ERROR_MID_STREAM, after_chunks=5)

    turn = await collect(make_agent().respond("Okay."))

    assert turn.sentences == ["First sentence here."]
    assert fallback.turns == []
    assert state.transcript == [("caller", "Okay."), ("agent", "First sentence here.")]


async def test_stall_after_a_sentence_stops_at_the_timeout(
    state: CallState, script: Script, fallback: FakeFallback
) -> None:
    app = FakeOpenAI(FixedPolicy(PolicyReply("First sentence here. Second one stalls.")))
    app.inject(Fault.HANG_MID_STREAM, after_chunks=5)
    async with (
        serve_fake_openai(app) as base_url,
        openai.AsyncOpenAI(api_key="test", base_url=base_url) as client,
    ):
        agent = OpenAIAgent(
            state, script=script, client=client, fallback=fallback, turn_timeout_s=0.3
        )
        turn = await collect(agent.respond("Okay."))

    assert turn.sentences == ["First sentence here."]
    assert fallback.turns == []
    assert app.streams_completed == 0


async def test_stall_before_any_sentence_falls_back(
    make_agent: MakeAgent, app: FakeOpenAI, fallback: FakeFallback
) -> None:
    app.policy = reply("This never gets said.")
    app.inject(Fault.HANG_MID_STREAM, after_chunks=1)

    turn = await collect(make_agent(turn_timeout_s=0.2).respond("Okay."))

    assert turn.sentences == [FALLBACK_LINE]
    assert fallback.turns == ["Okay."]


# -- the transcript contract and the request ------------------------------------------------------


async def test_transcript_records_each_turn_once(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, fallback: FakeFallback
) -> None:
    agent = make_agent()
    opening = await collect(agent.opening())
    app.policy = reply("Great. What can we help you with?")
    await collect(agent.respond(" Yes, now works. "))
    app.inject(Fault.SERVER_ERROR, times=1)
    await collect(agent.respond("A cleaning."))
    app.policy = reply("Sorry, I didn't catch that.")
    await collect(agent.respond(None))

    assert state.transcript == [
        ("agent", opening.text),
        ("caller", "Yes, now works."),
        ("agent", "Great. What can we help you with?"),
        ("caller", "A cleaning."),
        ("agent", FALLBACK_LINE),
        ("agent", "Sorry, I didn't catch that."),
    ]
    assert state.caller_turns == 3
    assert fallback.turns == ["A cleaning."]


async def test_request_carries_prompt_transcript_and_settings(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    agent = make_agent(model="gpt-4o-mini")
    await collect(agent.opening())
    app.policy = reply("Thanks.")
    await collect(agent.respond("Yes."))
    await collect(agent.respond(None))

    first, silent = app.requests
    assert first.model == "gpt-4o-mini"
    assert first.stream is True
    assert first.temperature == 0.3
    assert first.tool_choice == "auto"
    assert set(first.tool_names) == {
        "record_qualification",
        "end_call",
        "transfer_call",
        "mark_do_not_call",
        "schedule_callback",
        "book_slot",
        "set_outcome",
    }
    assert [m.role for m in first.messages] == ["system", "assistant", "user"]
    assert "Bright Smiles Dental" in first.system_prompt
    assert first.messages[-1].text == "Yes."
    assert [m.role for m in silent.messages][-2:] == ["assistant", "system"]
    assert silent.messages[-1].text == SILENCE_NOTE


async def test_finished_call_says_nothing(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    state.finished = True

    turn = await collect(make_agent().respond("Hello?"))

    assert turn.sentences == [] and turn.actions == []
    assert app.requests == []


def test_fallback_must_share_the_state(
    state: CallState, script: Script, client: openai.AsyncOpenAI
) -> None:
    other = FakeFallback(CallState(context=state.context))
    with pytest.raises(ValueError, match="share"):
        OpenAIAgent(state, script=script, client=client, fallback=other)


# -- a whole call against the script-following stand-in -----------------------------------------


async def test_whole_call_against_the_script_following_policy(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState, fallback: FakeFallback
) -> None:
    app.policy = ScriptFollowingPolicy()
    app.argument_piece_chars = 5
    agent = make_agent()
    await collect(agent.opening())
    answers = [
        ("Yes, now is fine.", "am I speaking with Maria?"),
        ("Yes, this is Maria.", "What can we help you with?"),
        ("I'd like a cleaning and a checkup.", "Are you in any pain right now?"),
        ("No pain, maybe a two.", "Do you have any swelling"),
        ("No, nothing like that.", "When did you last see a dentist?"),
        ("About two years ago.", "would you be a new patient?"),
        ("I'd be a new patient.", "Do you have dental insurance?"),
        ("Yes, I have Delta Dental.", "What days and times"),
        ("Tuesday mornings work best.", "Would either of those work?"),
        ("The first one.", "Did I get that right?"),
        ("Yes.", "anything else"),
    ]
    for answer, next_question in answers:
        turn = await collect(agent.respond(answer))
        assert next_question in turn.text, (answer, turn.text)
        assert turn.actions == [] or turn.actions == [BookSlot(start=SLOT_1)]
        assert not state.finished

    last = await collect(agent.respond("No, that's all."))

    q = state.qualification
    assert last.actions == [EndCall()]
    assert "Have a great day!" in last.text
    assert state.finished
    assert fallback.turns == []
    assert q.identity_confirmed is True
    assert q.treatment_interest is not None and q.treatment_interest.value == "cleaning_checkup"
    assert q.pain_level == 2
    assert q.last_visit == "About two years ago"
    assert q.new_patient is True
    assert q.insurance.status is InsuranceStatus.HAS
    assert q.insurance.carrier == "Delta Dental"
    assert q.availability is not None
    assert q.availability.days == [Weekday.TUE]
    assert [(w.start, w.end) for w in q.availability.windows] == [("08:00", "12:00")]
    assert q.preferred_slot == SLOT_1
    assert q.outcome is Outcome.BOOKED
    assert q.summary is not None
    assert state.caller_turns == len(answers) + 1


async def test_severe_pain_is_transferred_by_the_script_following_policy(
    make_agent: MakeAgent, app: FakeOpenAI, state: CallState
) -> None:
    app.policy = ScriptFollowingPolicy()
    agent = make_agent()
    await collect(agent.opening())
    for answer in ("Yes.", "Yes, it's Maria.", "My tooth is killing me."):
        await collect(agent.respond(answer))

    turn = await collect(agent.respond("It's a nine, honestly."))

    assert turn.actions == [Transfer(reason=TransferReason.EMERGENCY, summary="Pain 9/10.")]
    assert "connecting you" in turn.text
    assert state.qualification.pain_level == 9
    assert state.qualification.outcome is Outcome.EMERGENCY_TRANSFERRED
    assert state.finished


async def test_script_following_policy_asks_again_after_silence(
    make_agent: MakeAgent, app: FakeOpenAI
) -> None:
    app.policy = ScriptFollowingPolicy()
    agent = make_agent()
    await collect(agent.opening())

    turn = await collect(agent.respond(None))

    assert turn.sentences[0] == "Sorry, I didn't catch that."
    assert "Is now a good time" in turn.text
    assert turn.actions == []
