"""pain_level: scores in digits and words, ranges, corrections, and numbers that are not pain."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import pain_level

ASKED = [
    ("about a seven", 7),
    ("7", 7),
    ("seven", 7),
    ("ten", 10),
    ("a ten", 10),
    ("like a 3", 3),
    ("maybe a one", 1),
    ("one", 1),
    ("zero", 0),
    ("a six or seven", 7),
    ("eight or nine", 9),
    ("six seven", 7),
    ("a 6-7", 7),
    ("between 6 and 7", 7),
    ("two or three maybe", 3),
    ("seven and a half", 8),
    ("7.5", 8),
    ("actually it's more like a 6", 6),
    ("a four, actually more like a six", 6),
    ("it was a 4 yesterday but now it's a 7", 7),
    ("10 out of 10", 10),
    ("no pain", 0),
    ("none", 0),
    ("it doesn't hurt", 0),
    ("nope", 0),
    ("not at all", 0),
    ("it doesnt hurt that much maybe a 4", 4),
    ("it's like a 15", None),
    ("twenty", None),
    ("i dont know", None),
    ("what?", None),
    ("five five five one two one two", None),
    ("at 5", None),
    ("it started two years ago", None),
]

NOT_ASKED = [
    ("7 out of 10", 7),
    ("it hurts like an eight", 8),
    ("the pain is a 4", 4),
    ("pain level 6", 6),
    ("on a scale of one to ten i would say a five", 5),
    ("it hurts about 7/10", 7),
    ("my pain is about a six, seven", 7),
    ("two or three out of ten", 3),
    ("no pain at all", 0),
    ("it doesn't hurt", 0),
    ("it's 8 out of 10 pain, started 2 weeks ago", 8),
    # Numbers that are not pain scores.
    ("two years ago", None),
    ("about 7", None),
    ("call me at 5", None),
    ("it hurts, call me at 5", None),
    ("tuesday the 3rd it started hurting", None),
    ("my number is 555 123 4567 and it hurts", None),
    ("it hurts, my son is 7 years old", None),
    ("i have 2 kids and my tooth hurts", None),
    ("the one in the back hurts", None),
    ("it hurts when i chew", None),
    ("at 5 30 it hurts", None),
    ("it hurts like a 15", None),
    ("my tooth hurts, I'm at 42 main street apartment 3", None),
]


@pytest.mark.parametrize(("text", "expected"), ASKED)
def test_pain_when_asked(text: str, expected: int | None) -> None:
    assert pain_level(text, asked=True) == expected


@pytest.mark.parametrize(("text", "expected"), NOT_ASKED)
def test_pain_when_not_asked(text: str, expected: int | None) -> None:
    assert pain_level(text, asked=False) == expected


def test_a_bare_number_needs_the_question() -> None:
    assert pain_level("a seven", asked=False) is None
    assert pain_level("a seven", asked=True) == 7
