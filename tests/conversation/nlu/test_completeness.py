"""Finished utterances told apart from ones the caller paused in the middle of."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu.completeness import sounds_finished


@pytest.mark.parametrize(
    "text",
    [
        "Yes, I have Delta Dental.",
        "Is that covered?",
        "What was that?",
        "Yes, that's it.",
        "Seven.",
        "It is about a 7.",
        "No!",
        "I'd like a cleaning, please.",
        '"Sure."',
    ],
)
def test_sentences_that_end_are_finished(text: str) -> None:
    assert sounds_finished(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Sure,",  # Whisper's comma where the voice hung
        "My tooth is...",
        "The lower left molar\u2026",
        "It started on Monday and.",
        "I think it's.",
        "Maybe the.",
        "Um.",
        "It hurts when I eat",  # no closing punctuation at all
        "I have a.",
    ],
)
def test_sentences_cut_at_a_pause_are_not(text: str) -> None:
    assert not sounds_finished(text)
