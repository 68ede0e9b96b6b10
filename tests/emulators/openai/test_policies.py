"""The fake server's reply policies, called directly with requests built by the LLM agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.conversation.agent import CallContext, CallState
from dentalvoice.conversation.llm.prompt import build_messages
from dentalvoice.conversation.script import load_script, render
from dentalvoice.emulators.openai import (
    ChatRequest,
    EchoPolicy,
    FixedPolicy,
    PolicyReply,
    ScriptFollowingPolicy,
)
from dentalvoice.emulators.openai.policies import carrier, pain_number, yes_no

ZONE = ZoneInfo("America/Chicago")


def make_state(*, transfer_available: bool = True, slots: int = 2) -> CallState:
    context = CallContext(
        clinic_name="Lakeside Dental",
        timezone="America/Chicago",
        now=datetime(2025, 6, 2, 9, 0, tzinfo=ZONE),
        lead_first_name="Sam",
        free_slots=tuple(datetime(2025, 6, 3, 9 + 2 * i, 0, tzinfo=ZONE) for i in range(slots)),
        transfer_available=transfer_available,
    )
    state = CallState(context=context)
    state.transcript.append(("agent", render(load_script().opening, context)))
    return state


def request(state: CallState, utterance: str | None) -> ChatRequest:
    messages: list[Any] = build_messages(load_script(), state, utterance)
    return ChatRequest.model_validate({"model": "gpt-4o", "messages": messages, "tools": []})


def converse(state: CallState, *answers: str) -> PolicyReply:
    """Play answers through the policy, growing the transcript the way the agent would."""
    policy = ScriptFollowingPolicy()
    result = PolicyReply()
    for answer in answers:
        result = policy(request(state, answer))
        state.transcript += [("caller", answer), ("agent", result.content)]
    return result


def test_echo_and_fixed_policies() -> None:
    state = make_state()
    fixed = FixedPolicy(PolicyReply("One."), PolicyReply("Two."))

    assert EchoPolicy()(request(state, "Hello there!")).content == "You said: Hello there."
    assert [fixed(request(state, "x")).content for _ in range(3)] == ["One.", "Two.", "Two."]
    with pytest.raises(ValueError):
        FixedPolicy()


def test_asks_the_next_question_in_order() -> None:
    state = make_state()

    first = converse(state, "Yes, go ahead.")
    second = converse(state, "Yep, that's me.")

    assert first.content == "Okay. Just to be sure, am I speaking with Sam?"
    assert first.tool_calls == []
    assert second.content.startswith("Thanks. What can we help you with?")
    assert second.tool_calls == [("record_qualification", {"identity_confirmed": True})]


def test_skips_what_is_already_recorded() -> None:
    state = make_state()
    state.qualification.identity_confirmed = True

    reply = converse(state, "Sure.")

    assert "What can we help you with?" in reply.content


def test_asks_again_after_silence() -> None:
    state = make_state()

    reply = ScriptFollowingPolicy()(request(state, None))

    assert reply.content.startswith("Sorry, I didn't catch that. Is now a good time")


def test_severe_pain_transfers() -> None:
    state = make_state()

    reply = converse(state, "Yes.", "Yes.", "A toothache.", "Honestly about an eight.")

    assert reply.tool_calls[0] == ("record_qualification", {"pain_level": 8})
    assert reply.tool_calls[1] == (
        "transfer_call",
        {"reason": "emergency", "summary": "Pain 8/10."},
    )


def test_severe_pain_after_hours_ends_the_call() -> None:
    state = make_state(transfer_available=False)

    reply = converse(state, "Yes.", "Yes.", "A toothache.", "Ten.")

    names = [name for name, _ in reply.tool_calls]
    assert names == ["record_qualification", "set_outcome", "end_call"]
    assert "911" in reply.content


def test_red_flags_respect_negation() -> None:
    state = make_state()
    calm = converse(state, "Yes.", "Yes.", "A cleaning.", "No pain.", "No swelling or fever.")
    assert "When did you last see a dentist?" in calm.content

    state = make_state()
    flagged = converse(state, "Yes.", "Yes.", "A cleaning.", "No pain.", "My gums keep bleeding.")
    assert flagged.tool_calls[0] == (
        "record_qualification",
        {"red_flags": ["uncontrolled_bleeding"]},
    )


def test_offer_is_skipped_without_free_slots() -> None:
    state = make_state(slots=0)

    reply = converse(
        state,
        *("Yes.", "Yes.", "A cleaning.", "No pain.", "No.", "Last year."),
        *("I'm new.", "No insurance.", "Weekday evenings."),
    )

    # Nothing applies the tool calls here, so the summary has only this turn's facts.
    assert "Did I get that right?" in reply.content
    assert not any("Would either of those work?" in text for _, text in state.transcript)


def test_not_a_good_time_ends_the_call() -> None:
    reply = converse(make_state(), "No, I'm driving.")

    assert [name for name, _ in reply.tool_calls] == ["set_outcome", "end_call"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Yes please", "yes"), ("no thanks", "no"), ("Sure, not now though", "yes"), ("hmm", None)],
)
def test_yes_no(text: str, expected: str | None) -> None:
    assert yes_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("about a 7", 7), ("seven", 7), ("10!", 10), ("none", 0), ("eh", None)]
)
def test_pain_number(text: str, expected: int | None) -> None:
    assert pain_number(text) == expected


def test_carrier() -> None:
    assert carrier("I think it's MetLife") == "MetLife"
    assert carrier("blue cross through work") == "Blue Cross Blue Shield"
    assert carrier("some local plan") is None
