"""The simulated caller: the topic table, sentence focus, and how answers are chosen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dentalvoice.conversation.agent import CallContext
from dentalvoice.conversation.evaluation.caller import (
    TOPIC_RULES,
    SimulatedCaller,
    classify,
    classify_turn,
    focus_sentence,
    is_goodbye,
    split_sentences,
)
from dentalvoice.conversation.evaluation.scenario import CallerSpec, Topic
from dentalvoice.conversation.script import Slot, load_script, render

T = Topic

# Agent sentences, from the default script's wording and from paraphrases a model might use.
CLASSIFIED = [
    # good time
    ("Is now a good time for a couple of quick questions?", T.GOOD_TIME),
    ("Do you have two minutes to talk right now?", T.GOOD_TIME),
    ("Is this still a good time?", T.GOOD_TIME),
    ("Did I catch you at a bad time?", T.GOOD_TIME),
    ("Do you have a moment to chat?", T.GOOD_TIME),
    ("Are you free to talk for a few minutes?", T.GOOD_TIME),
    # identity
    ("Just to be sure, am I speaking with Maria?", T.IDENTITY),
    ("Is this Maria?", T.IDENTITY),
    ("Is this Maria Lopez?", T.IDENTITY),
    ("Could I speak with Maria, please?", T.IDENTITY),
    ("Is Maria available?", T.IDENTITY),
    ("Is that you, Maria?", T.IDENTITY),
    # reason
    ("What can we help you with?", T.REASON),
    ("What made you reach out to us?", T.REASON),
    ("Is it about a cleaning, a problem with a tooth, or something cosmetic?", T.REASON),
    ("What brings you to Bright Smile Dental today?", T.REASON),
    ("What kind of treatment are you looking for?", T.REASON),
    ("How can I help you today?", T.REASON),
    ("What's going on with your teeth?", T.REASON),
    ("What would you like to come in for?", T.REASON),
    # pain
    ("On a scale from zero to ten, how bad is it?", T.PAIN),
    ("On a scale of 0 to 10, where would you put it?", T.PAIN),
    ("From zero, no pain, to ten, the worst pain, what number would you give it?", T.PAIN),
    ("Are you in any pain right now?", T.PAIN),
    ("Does it hurt at the moment?", T.PAIN),
    ("How would you rate it out of ten?", T.PAIN),
    ("Is the tooth aching right now?", T.PAIN),
    # red flags
    (
        "Do you have any swelling, fever, bleeding that won't stop, an injury to your mouth, "
        "or any trouble breathing or swallowing?",
        T.RED_FLAGS,
    ),
    ("Any swelling, fever, heavy bleeding, or trouble breathing?", T.RED_FLAGS),
    ("Is there any swelling along with the pain?", T.RED_FLAGS),
    ("Any other symptoms I should know about?", T.RED_FLAGS),
    ("Have you had any allergic reaction to medication?", T.RED_FLAGS),
    # last visit
    ("When did you last see a dentist?", T.LAST_VISIT),
    ("Roughly how long ago was your last dental visit?", T.LAST_VISIT),
    ("How long since your last checkup?", T.LAST_VISIT),
    ("When was your last cleaning?", T.LAST_VISIT),
    ("Have you seen a dentist in the past year?", T.LAST_VISIT),
    # new patient
    ("Have you been to Bright Smile Dental before, or would you be a new patient?", T.NEW_PATIENT),
    ("Would you be a new patient with us?", T.NEW_PATIENT),
    ("Have you visited us before?", T.NEW_PATIENT),
    ("Are you an existing patient of ours?", T.NEW_PATIENT),
    # insurance
    ("Do you have dental insurance? If so, which company is it with?", T.INSURANCE),
    ("If so, which company is it with?", T.INSURANCE),
    ("Do you have dental insurance, yes or no?", T.INSURANCE),
    ("Which insurance do you have?", T.INSURANCE),
    ("Who is your dental plan with?", T.INSURANCE),
    ("Would you be paying out of pocket?", T.INSURANCE),
    # availability
    ("What days and times usually work best for you to come in?", T.AVAILABILITY),
    ("Are mornings or afternoons better for you, and which days?", T.AVAILABILITY),
    ("When are you usually available for an appointment?", T.AVAILABILITY),
    ("Would Tuesday or Wednesday mornings suit you better?", T.AVAILABILITY),
    ("What does your schedule look like?", T.AVAILABILITY),
    ("When can you come in?", T.AVAILABILITY),
    # offer
    ("Would either of those work?", T.OFFER),
    ("Would Tuesday at 2 or Wednesday at 10 work?", T.OFFER),
    ("Does Wednesday, November 25 at 2:00 PM work for you?", T.OFFER),
    ("Shall I book you in for that?", T.OFFER),
    ("Which one would you prefer?", T.OFFER),
    ("How about Thursday morning at nine?", T.OFFER),
    # callback
    ("When would be a better time to call you back?", T.CALLBACK),
    ("When would be a better time?", T.CALLBACK),
    ("What time should we call you?", T.CALLBACK),
    ("Is there a better time to reach you?", T.CALLBACK),
    # confirm
    ("Did I get that right?", T.CONFIRM),
    ("Is that correct?", T.CONFIRM),
    ("Is that summary right?", T.CONFIRM),
    ("Does that all sound right?", T.CONFIRM),
    ("So Delta Dental, is that right?", T.CONFIRM),
    # anything else
    ("Is there anything else you'd like the team to know?", T.ANYTHING_ELSE),
    ("Anything else before I let you go?", T.ANYTHING_ELSE),
    ("Do you have any other questions for me?", T.ANYTHING_ELSE),
    # nothing asked
    ("Could you let Maria know Bright Smile Dental called?", None),
    ("Sorry, I didn't catch that.", None),
    ("Great.", None),
]


@pytest.mark.parametrize(("sentence", "topic"), CLASSIFIED)
def test_classify(sentence: str, topic: Topic | None) -> None:
    assert classify(sentence) is topic


def test_the_table_covers_enough_sentences_and_every_topic() -> None:
    assert len(CLASSIFIED) >= 40
    assert {t for _, t in CLASSIFIED if t is not None} == set(Topic)
    assert [t for t, _ in TOPIC_RULES].count(Topic.PAIN) == 1
    assert {t for t, _ in TOPIC_RULES} == set(Topic)


def test_every_slot_is_a_topic() -> None:
    assert {s.value for s in Slot} <= {t.value for t in Topic}


def _context() -> CallContext:
    return CallContext(
        clinic_name="Bright Smile Dental",
        timezone="America/New_York",
        now=datetime(2026, 11, 24, 15, 15, tzinfo=UTC),
        lead_first_name="Maria",
    )


def test_the_default_script_questions_classify_as_their_slot() -> None:
    script = load_script()
    values = {
        "offer": "I have Wednesday, November 25 at 2:00 PM or Friday at 10:00 AM. "
        "Would either of those work?",
        "summary": "Here's what I have: implants, no pain, Delta Dental, new patient.",
    }
    assert classify_turn([render(script.opening, _context())]) is Topic.GOOD_TIME
    for step in script.steps:
        for template in (step.ask, step.reask):
            text = render(template, _context(), **values)
            assert classify_turn([text]) is Topic(step.slot.value), text


def test_closing_lines_of_the_default_script_read_as_goodbyes() -> None:
    script = load_script()
    closing = [
        "callback_ok", "wrong_number", "not_interested", "opt_out", "emergency_transfer",
        "emergency_911", "emergency_morning", "technical_transfer", "goodbye", "human_transfer",
    ]  # fmt: skip
    for name in closing:
        text = render(script.lines[name], _context(), when="at 5 PM")
        assert is_goodbye([text]), name
    for name in ["robot", "clinical_question", "price_question", "didnt_catch", "booked"]:
        text = render(script.lines[name], _context(), slot="Wednesday at 2 PM")
        assert not is_goodbye([text]), name


def test_sentences_split_at_ends_but_not_inside_times_or_titles() -> None:
    assert split_sentences("I have Wednesday at 2 p.m. or Friday at 10 a.m. Would that work?") == [
        "I have Wednesday at 2 p.m. or Friday at 10 a.m.",
        "Would that work?",
    ]
    assert split_sentences("Dr. Lee will see you. Is that okay?") == [
        "Dr. Lee will see you.",
        "Is that okay?",
    ]


def test_focus_is_the_last_question_else_the_last_sentence() -> None:
    assert focus_sentence(["Hi, this is Ava.", "Is now a good time?", "No rush."]) == (
        "Is now a good time?",
        True,
    )
    assert focus_sentence(["Thanks.", "Got it."]) == ("Got it.", False)
    assert focus_sentence([]) == (None, False)


def test_a_question_without_a_topic_takes_the_turns_context() -> None:
    turn = ["I have an opening on Wednesday at 2 PM.", "Does that work?"]
    assert classify_turn(turn) is Topic.OFFER
    assert classify_turn(["When would be a better time?", "Does that work?"]) is Topic.CALLBACK


def test_statements_are_answered_only_when_they_request_something() -> None:
    assert classify_turn(["Pricing depends on your insurance."]) is None
    assert classify_turn(["Please tell me which insurance you have."]) is Topic.INSURANCE


FACTS = {
    Topic.GOOD_TIME: "Sure.",
    Topic.PAIN: "About a six.",
    Topic.INSURANCE: None,
}


def test_the_caller_answers_from_facts_by_topic() -> None:
    caller = SimulatedCaller(CallerSpec(facts=FACTS))
    reply = caller.reply(["Hi Maria, this is Ava.", "Is now a good time?"])
    assert (reply.utterance, reply.topic, reply.hang_up) == ("Sure.", Topic.GOOD_TIME, False)
    assert caller.reply(["On a scale of 0 to 10, how bad is it?"]).utterance == "About a six."
    # Asked again: the same fact again.
    assert caller.reply(["What number would you give it?"]).utterance == "About a six."


def test_null_facts_are_silence_and_unknown_topics_get_the_default() -> None:
    caller = SimulatedCaller(CallerSpec(facts=FACTS, default="Hm?"))
    assert caller.reply(["Do you have dental insurance?"]).utterance is None
    assert caller.reply(["When did you last see a dentist?"]).utterance == "Hm?"
    assert caller.reply(["Sorry, I didn't catch that."]).utterance == "Hm?"
    silent = SimulatedCaller(CallerSpec(default=None))
    reply = silent.reply(["What brings you in?"])
    assert reply.utterance is None and not reply.hang_up


def test_a_goodbye_without_a_question_gets_no_reply() -> None:
    caller = SimulatedCaller(CallerSpec(facts=FACTS))
    assert caller.reply(["Thanks, Maria.", "Have a great day!"]).hang_up
    assert caller.reply(["Please stay on the line."]).hang_up
    # A goodbye that still asks something is answered.
    assert not caller.reply(["Is now a good time? Goodbye otherwise."]).hang_up


def test_opening_then_script_then_facts() -> None:
    spec = CallerSpec(
        facts=FACTS, opening="Who is this?", script=["First.", None], default="Default."
    )
    caller = SimulatedCaller(spec)
    first = caller.reply(["Hi, this is Ava.", "Is now a good time?"])
    assert (first.utterance, first.topic) == ("Who is this?", Topic.GOOD_TIME)
    assert caller.reply(["Is now a good time?"]).utterance == "First."
    assert caller.reply(["Is now a good time?"]).utterance is None
    assert caller.reply(["Is now a good time?"]).utterance == "Sure."


def test_the_opening_question_is_answered_by_topic_without_an_opening_line() -> None:
    caller = SimulatedCaller(CallerSpec(facts=FACTS))
    assert caller.reply(["Hi, this is Ava.", "Is now a good time?"]).utterance == "Sure."
