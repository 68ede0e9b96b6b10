"""Backchannels: what a caller murmurs while the agent talks, told apart from taking the turn."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu.backchannel import is_backchannel


@pytest.mark.parametrize(
    "text",
    [
        "Mm-hmm.",
        "Mhm.",
        "Uh-huh.",
        "Hmm.",
        "NMM.",  # tiny.en's spelling of a synthesised "Mm-hmm" on a phone line
        "Mmm, okay.",
        "Yeah.",
        "Yeah, okay.",
        "Okay.",
        "Right, got it.",
        "I see.",
        "All right.",
        "Thank you.",
        "Sure.",
        "yeah yeah",
    ],
)
def test_acknowledgements_are_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Okay?",  # a question wants an answer
        "Yeah, but I'm driving right now.",
        "No.",
        "Stop calling me.",
        "Sure, I have a minute.",
        "Wait, who is this?",
        "Yeah okay right sure fine",  # too long to be a murmur
        "It hurts.",
    ],
)
def test_anything_with_content_takes_the_turn(text: str) -> None:
    assert not is_backchannel(text)
