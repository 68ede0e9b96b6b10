"""Sentence splitting of streamed model text."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.llm import SentenceSplitter, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi there. How are you?", ["Hi there.", "How are you?"]),
        ("Great! Thanks.", ["Great!", "Thanks."]),
        ("Dr. Patel will see you. Mrs. Lee too.", ["Dr. Patel will see you.", "Mrs. Lee too."]),
        ("Ask for J. Smith at the desk.", ["Ask for J. Smith at the desk."]),
        (
            "Is 9 a.m. okay? Or 2 p.m. Tomorrow works.",
            ["Is 9 a.m. okay?", "Or 2 p.m.", "Tomorrow works."],
        ),
        ("It costs 3.5 units. Fine.", ["It costs 3.5 units.", "Fine."]),
        ('She said "yes." Then left.', ['She said "yes."', "Then left."]),
        ("Wait... okay.", ["Wait...", "okay."]),
        ("First line\nSecond line", ["First line", "Second line"]),
        ("No end punctuation", ["No end punctuation"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_a_sentence_is_released_as_soon_as_the_next_word_starts() -> None:
    splitter = SentenceSplitter()

    assert splitter.feed("Hello") == []
    assert splitter.feed(" there.") == []  # could still be "there.5" or an abbreviation
    assert splitter.feed(" How") == ["Hello there."]
    assert splitter.feed(" are you?") == []
    assert splitter.flush() == "How are you?"
    assert splitter.flush() is None


def test_am_waits_for_the_next_word_to_decide() -> None:
    splitter = SentenceSplitter()

    assert splitter.feed("See you at 9 a.m. ") == []
    assert splitter.feed("tomorrow.") == []
    assert splitter.feed(" Bye") == ["See you at 9 a.m. tomorrow."]

    splitter = SentenceSplitter()
    assert splitter.feed("See you at 9 a.m. ") == []
    assert splitter.feed("Bye") == ["See you at 9 a.m."]


def test_character_by_character_stream_matches_whole_text() -> None:
    text = "Thanks, Maria. Dr. Chen has Tuesday at 9 a.m. open! Would that work? Great"
    splitter = SentenceSplitter()
    pieces = [s for ch in text for s in splitter.feed(ch)]
    tail = splitter.flush()

    assert [*pieces, tail] == split_sentences(text)
