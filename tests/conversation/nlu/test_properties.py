"""Property: no NLU function raises, whatever text arrives, and answers stay in range."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dentalvoice.conversation import nlu

NOW = datetime(2026, 11, 24, 10, 15, tzinfo=ZoneInfo("America/New_York"))
VOCABULARY = [
    "yes", "no", "not", "sure", "maybe", "pain", "hurts", "seven", "10", "out of", "ten", "or",
    "at", "5", "pm", "tomorrow", "tuesday", "next", "week", "morning", "after", "between", "and",
    "1", "in", "an", "hour", "delta", "dental", "cigna", "insurance", "cash", "implant", "cleaning",
    "my", "son", "ago", "years", "last", "never", "been", "there", "new", "patient", "wrong",
    "number", "who", "is", "this", "robot", "call", "me", "later", "busy", "how", "much", "what",
    "?", ",", ".", "the", "3rd", "december", "12/3", "half", "past", "quarter", "to", "noon",
    "don't", "i'm", "a", "um", "like", "0", "99", "555-123-4567", "\u2019", "\u0130", "\u00df",
]  # fmt: skip
phrases = st.lists(st.sampled_from(VOCABULARY), max_size=25).map(" ".join)
texts = st.one_of(st.text(max_size=200), phrases)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_no_function_raises(text: str) -> None:
    assert nlu.yes_no(text) in ("yes", "no", "unsure", None)
    for asked in (True, False):
        level = nlu.pain_level(text, asked=asked)
        assert level is None or 0 <= level <= 10
        nlu.insurance(text, asked=asked)
        visit = nlu.last_visit(text, asked=asked)
        assert visit is None or len(visit) <= 100
        nlu.new_patient(text, asked=asked)
    nlu.carrier(text)
    nlu.treatment(text)
    complaint = nlu.chief_complaint(text)
    assert complaint is None or 0 < len(complaint) <= 80
    nlu.availability(text, now=NOW)
    when = nlu.moment(text, now=NOW)
    assert when is None or (when > NOW and when.tzinfo is NOW.tzinfo)
    assert nlu.intents(text) <= set(nlu.Intent)


def test_very_long_input_is_handled() -> None:
    text = "my tooth hurts about a seven " * 2000
    assert nlu.pain_level(text, asked=True) == 7
    assert nlu.moment("tomorrow at 3 " * 2000, now=NOW) is not None
