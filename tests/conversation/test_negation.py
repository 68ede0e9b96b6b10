"""Negation of a phrase within an utterance: negators, their reach and what ends it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dentalvoice.conversation.negation import is_negated


def negated(text: str, phrase: str) -> bool:
    """Whether the first `phrase` in `text` is negated."""
    start = text.lower().index(phrase)
    return is_negated(text, start)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("no swelling", "swelling"),
        ("No fever.", "fever"),
        ("I don't have a fever", "fever"),
        ("I dont have a fever", "fever"),
        ("I do not have any swelling", "swelling"),
        ("not swollen anymore", "swollen"),
        ("no, no fever", "fever"),
        ("never had a fever", "fever"),
        ("I haven't had any bleeding", "bleeding"),
        ("without any swelling", "swelling"),
        ("neither swelling nor fever", "fever"),
        ("nothing like swelling", "swelling"),
        ("zero swelling", "swelling"),
        ("nobody hit me", "hit"),
        ("I ain't got a fever", "fever"),
        ("it isn't swollen", "swollen"),
        ("NO FEVER", "fever"),
    ],
)
def test_negators(text: str, phrase: str) -> None:
    assert negated(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("swelling", "swelling"),
        ("I have a fever", "fever"),
        ("my face is swollen", "swollen"),
        ("I know I have a fever", "fever"),  # "know" is not "no"
        ("it's been bleeding nonstop", "bleeding"),
        ("I noticed some swelling", "swelling"),
    ],
)
def test_plain_mentions_are_not_negated(text: str, phrase: str) -> None:
    assert not negated(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("no fever but my face is swelling", "swelling"),
        ("no fever, swelling", "swelling"),
        ("no fever. swelling", "swelling"),
        ("no fever; swelling", "swelling"),
        ("no fever though my face is swelling", "swelling"),
        ("no fever however there is swelling", "swelling"),
        ("no fever yet swelling", "swelling"),
        ("not really except swelling", "swelling"),
    ],
)
def test_a_clause_boundary_ends_the_reach(text: str, phrase: str) -> None:
    assert not negated(text, phrase)


def test_reach_is_a_few_words() -> None:
    assert negated("no really big swelling", "swelling")
    assert not negated("no I mean the left side has swelling", "swelling")
    assert not negated("not sure what happened but the whole side has swelling", "swelling")


# The cases below were wrong before: transcripts have no punctuation, so words must stand in.


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("nothing like that just bleeding that won't stop", "bleeding"),
        ("no fever only swelling", "swelling"),
        ("no fever besides swelling", "swelling"),
        ("no fever other than swelling", "swelling"),
        ("no fever apart from swelling", "swelling"),
        ("not just swelling", "swelling"),
        ("no fever because my face is swollen", "swollen"),
        ("no fever yes swelling", "swelling"),
        ("no fever yeah swelling", "swelling"),
        ("no fever and my face is swollen", "swollen"),
        ("no fever and I can't breathe", "can't breathe"),
        ("no fever and the swelling is bad", "swelling"),
        ("no fever and now swelling", "swelling"),
    ],
)
def test_words_end_the_reach_in_unpunctuated_transcripts(text: str, phrase: str) -> None:
    assert not negated(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("no it won't stop bleeding", "won't stop bleeding"),
        ("no I have a fever", "fever"),
        ("nope my face is swollen", "swollen"),
        ("nah it's bleeding a lot", "bleeding"),
        ("oh no it's bleeding everywhere", "bleeding"),
        ("oh no bleeding everywhere", "bleeding"),
    ],
)
def test_an_interjected_no_before_a_new_subject_negates_nothing(text: str, phrase: str) -> None:
    assert not negated(text, phrase)


def test_a_determiner_no_still_negates() -> None:
    assert negated("no swelling", "swelling")
    assert negated("no fever and swelling", "swelling")
    assert negated("no swelling or fever", "fever")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("I can't stop the bleeding", "bleeding"),
        ("it won't stop bleeding", "bleeding"),
        ("it hasn't stopped bleeding", "bleeding"),
        ("I can't get it to stop bleeding", "bleeding"),
        ("the bleeding doesn't stop and the swelling", "swelling"),
    ],
)
def test_a_negated_stop_affirms(text: str, phrase: str) -> None:
    assert not negated(text, phrase)


def test_a_negated_stop_does_not_cancel_a_second_negator() -> None:
    assert negated("I can't stop it but there's no swelling", "swelling")
    assert negated("nope not bleeding", "bleeding")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("I don't think I have a fever", "fever"),
        ("I don't believe there is any swelling", "swelling"),
        ("I do not think it is really swollen", "swollen"),
        ("I don't remember having any swelling", "swelling"),
    ],
)
def test_a_hedged_negation_reaches_further(text: str, phrase: str) -> None:
    assert negated(text, phrase)


def test_fillers_do_not_use_up_the_window() -> None:
    assert negated("I don't uh really um have any fever", "fever")
    assert negated("no um uh umm fever", "fever")


@pytest.mark.parametrize(
    "text",
    [
        "I don\u2019t have a fever",
        "I didn\u2018t have a fever",
        "I haven\u02bct had a fever",
        "I don`t have a fever",
    ],
)
def test_curly_and_odd_apostrophes(text: str) -> None:
    assert negated(text, "fever")


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        ("I've never had swelling like this", "swelling", False),
        ("I've never had a fever this bad", "fever", False),
        ("never had pain so bad", "pain", False),
        ("I've never had swelling", "swelling", True),
        ("I've never had a fever before", "fever", True),
        ("no I've never had swelling like this", "swelling", False),
        ("I don't have swelling like that", "swelling", True),
        ("never had swelling, nothing like that", "swelling", True),
    ],
)
def test_never_like_this_is_emphasis(text: str, phrase: str, expected: bool) -> None:
    assert negated(text, phrase) is expected


def test_offsets_at_and_past_the_edges() -> None:
    assert not is_negated("", 0)
    assert not is_negated("fever", 0)
    assert is_negated("no", 2)
    assert is_negated("no fever", 100)
    assert not is_negated("no fever", -100)


@given(st.text(max_size=200), st.integers(min_value=-300, max_value=300))
def test_never_raises(text: str, start: int) -> None:
    assert isinstance(is_negated(text, start), bool)


_NEGATORS = st.sampled_from(["no", "not", "never", "don't", "didn't", "haven't", "without"])
_FILLER = st.sampled_from(["", "um ", "uh ", "really ", "any "])


@given(_NEGATORS, _FILLER, st.sampled_from(["swelling", "fever", "bleeding", "trouble breathing"]))
def test_a_negator_right_before_negates(negator: str, filler: str, phrase: str) -> None:
    text = f"I {negator} {filler}{phrase}"
    assert is_negated(text, text.index(phrase))
