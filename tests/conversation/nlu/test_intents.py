"""intents: each move, several at once, negation, and turns that carry none."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import Intent, intents

I = Intent  # noqa: E741 - short alias keeps the table readable

CASES = [
    ("who is this?", {I.WHO_IS_THIS}),
    ("whos calling", {I.WHO_IS_THIS}),
    ("what is this about", {I.WHO_IS_THIS}),
    ("sorry who are you guys", {I.WHO_IS_THIS}),
    ("how did you get my number", {I.WHO_IS_THIS}),
    ("is this a robot", {I.IS_ROBOT}),
    ("am I talking to a real person", {I.IS_ROBOT}),
    ("are you AI", {I.IS_ROBOT}),
    ("are you a machine", {I.IS_ROBOT}),
    ("are you a bot", {I.IS_ROBOT}),
    ("you sound like a robot", {I.IS_ROBOT}),
    ("call me later", {I.CALL_LATER}),
    ("can you call back at 5", {I.CALL_LATER}),
    ("not a good time", {I.CALL_LATER}),
    ("this is a bad time", {I.CALL_LATER}),
    ("I'm driving", {I.BUSY, I.CALL_LATER}),
    ("I'm busy", {I.BUSY, I.CALL_LATER}),
    ("im at work right now", {I.BUSY, I.CALL_LATER}),
    ("im driving call me back in an hour", {I.BUSY, I.CALL_LATER}),
    ("wrong number", {I.WRONG_NUMBER}),
    ("no wrong number", {I.WRONG_NUMBER}),
    ("there's no Maria here", {I.WRONG_NUMBER}),
    ("you have the wrong person", {I.WRONG_NUMBER}),
    ("i never filled out any form", {I.WRONG_NUMBER}),
    ("not interested", {I.NOT_INTERESTED}),
    ("no, not interested", {I.NOT_INTERESTED}),
    ("I already found a dentist", {I.NOT_INTERESTED}),
    ("I don't need anything", {I.NOT_INTERESTED}),
    ("i already have a dentist thanks", {I.NOT_INTERESTED}),
    ("should I take ibuprofen", {I.CLINICAL_QUESTION}),
    ("is it infected", {I.CLINICAL_QUESTION}),
    ("what should I do about the pain", {I.CLINICAL_QUESTION}),
    ("do I need a root canal", {I.CLINICAL_QUESTION}),
    ("can I take antibiotics", {I.CLINICAL_QUESTION}),
    ("my tooth hurts what should I do", {I.CLINICAL_QUESTION}),
    ("how much does it cost", {I.PRICE_QUESTION}),
    ("what's the price of implants", {I.PRICE_QUESTION}),
    ("do you take payment plans", {I.PRICE_QUESTION}),
    ("do you offer financing", {I.PRICE_QUESTION}),
    ("what?", {I.REPEAT}),
    ("huh?", {I.REPEAT}),
    ("sorry can you repeat that", {I.REPEAT}),
    ("say that again", {I.REPEAT}),
    ("i didnt catch that", {I.REPEAT}),
    ("can I talk to a person", {I.HUMAN_REQUEST}),
    ("let me speak to the receptionist", {I.HUMAN_REQUEST}),
    ("I would like to speak to a human", {I.HUMAN_REQUEST}),
    ("talk to a human", {I.HUMAN_REQUEST}),
    ("representative", {I.HUMAN_REQUEST}),
    # Negated or absent.
    ("it's not the wrong number", set()),
    ("I'm not busy", set()),
    ("no its not a bad time", set()),
    ("now is a good time", set()),
    ("I don't have a dentist", set()),
    ("I'm not interested in whitening but I want implants", set()),
    ("I dont want to talk to a person", set()),
    ("who is going to do the implant", set()),
    ("yes", set()),
    ("I have a toothache", set()),
    ("stop calling me", set()),
    ("", set()),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_intents(text: str, expected: set[Intent]) -> None:
    assert intents(text) == expected
