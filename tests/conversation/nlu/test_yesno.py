"""yes_no: closed-question answers, hedges, corrections and STT-style text."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import yes_no

CASES = [
    ("yeah sure", "yes"),
    ("Yep.", "yes"),
    ("yes", "yes"),
    ("YES", "yes"),
    ("that's right", "yes"),
    ("thats right", "yes"),
    ("correct", "yes"),
    ("go ahead", "yes"),
    ("Sure, go ahead!", "yes"),
    ("mm-hmm", "yes"),
    ("uh huh", "yes"),
    ("of course", "yes"),
    ("absolutely", "yes"),
    ("I think so?", "yes"),
    ("i believe so", "yes"),
    ("no problem", "yes"),
    ("yes please", "yes"),
    ("right", "yes"),
    ("yeah I do", "yes"),
    ("I've got a few minutes", "yes"),
    ("got a sec", "yes"),
    ("I haven't got time", "no"),
    ("sounds good", "yes"),
    ("this is she", "yes"),
    ("nope", "no"),
    ("no", "no"),
    ("No.", "no"),
    ("nah", "no"),
    ("not really", "no"),
    ("no thanks", "no"),
    ("no thank you", "no"),
    ("I don't think so", "no"),
    ("i dont think so", "no"),
    ("not at all", "no"),
    ("that's not right", "no"),
    ("definitely not", "no"),
    ("I'm not", "no"),
    ("yeah no", "no"),
    ("okay no", "no"),
    ("I'm not sure", "unsure"),
    ("im not really sure", "unsure"),
    ("maybe", "unsure"),
    ("I don't know", "unsure"),
    ("i dunno", "unsure"),
    ("no idea", "unsure"),
    ("possibly", "unsure"),
    ("hard to say", "unsure"),
    ("yeah I'm not sure", "unsure"),
    ("no, actually yes", "yes"),
    ("yes wait sorry no", "no"),
    ("what?", None),
    ("hello", None),
    ("", None),
    ("right now is bad", None),
    ("make sure you call", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_yes_no(text: str, expected: str | None) -> None:
    assert yes_no(text) == expected
