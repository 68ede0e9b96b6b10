"""last_visit and new_patient: normalised visit times, cues, and the new-patient question."""

from __future__ import annotations

import pytest

from dentalvoice.conversation.nlu import last_visit, new_patient

ASKED = [
    ("about two years ago", "about 2 years ago"),
    ("six months ago", "6 months ago"),
    ("like 3 years ago", "about 3 years ago"),
    ("a year and a half ago", "1.5 years ago"),
    ("a couple years ago", "about 2 years ago"),
    ("over a year", "over 1 year ago"),
    ("a few years back", "a few years ago"),
    ("last year", "last year"),
    ("last march", "last March"),
    ("in March", "in March"),
    ("back in 2019 i think", "in 2019"),
    ("2019", "in 2019"),
    ("earlier this year", "earlier this year"),
    ("recently", "recently"),
    ("when i was a kid", "as a child"),
    ("never been", "never"),
    ("never", "never"),
    ("can't remember", "unknown"),
    ("i dont know", "unknown"),
    ("a long time", "a long time ago"),
    ("its been years", "a long time ago"),
    ("it has been a while", "a while ago"),
    ("hello", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), ASKED)
def test_last_visit_when_asked(text: str, expected: str | None) -> None:
    assert last_visit(text, asked=True) == expected


NOT_ASKED = [
    ("I havent been to a dentist in 5 years", "over 5 years ago"),
    ("my last visit was maybe 3 years ago", "about 3 years ago"),
    ("i was at the dentist 2 weeks ago and they said i need a crown", "2 weeks ago"),
    ("it's been about 3 years since i've been", "about 3 years ago"),
    ("ive never been to a dentist", "never"),
    ("last time i went was last year", "last year"),
    ("I think the last time was 2018", "in 2018"),
    # No cue: not about a visit.
    ("the pain started two weeks ago", None),
    ("in March", None),
    ("never been there", None),
    ("last year", None),
]


@pytest.mark.parametrize(("text", "expected"), NOT_ASKED)
def test_last_visit_when_not_asked(text: str, expected: str | None) -> None:
    assert last_visit(text, asked=False) == expected


NEW_PATIENT = [
    ("I'd be new", False, True),
    ("never been there", False, True),
    ("first time", False, True),
    ("I'm a new patient", False, True),
    ("I haven't been there before", False, True),
    ("I've been there before", False, False),
    ("I'm a patient there", False, False),
    ("existing patient", False, False),
    ("I'm not a new patient", False, False),
    ("it's not my first time", False, False),
    ("yes", True, True),
    ("yes I think so", True, True),
    ("no", True, False),
    ("no I have been there before", True, False),
    ("not sure", True, None),
    ("yes", False, None),
    ("hello", False, None),
    ("what?", True, None),
]


@pytest.mark.parametrize(("text", "asked", "expected"), NEW_PATIENT)
def test_new_patient(text: str, asked: bool, expected: bool | None) -> None:
    assert new_patient(text, asked=asked) is expected
