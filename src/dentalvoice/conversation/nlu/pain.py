"""Pain level from 0 to 10, read from how a caller answers "how bad is it, out of ten?"."""

from __future__ import annotations

import math
import re

from dentalvoice.conversation.nlu._text import normalize, words
from dentalvoice.conversation.nlu.numbers import WORD_NUMBER, to_int
from dentalvoice.conversation.nlu.yesno import yes_no

_CUE = re.compile(
    r"\b(?:pain\w*|hurt\w*|ach(?:e|es|ing|y)|toothache|throbb?\w*|sore\w*|scale"
    r"|out of (?:ten|10))\b|/ ?10\b"
)
_ZERO_NUM = r"(?:0|zero|1|one)"
_TEN_NUM = r"(?:10|ten)"
# The question's own frame, echoed back, is not an answer: "on a scale of one to ten, a five".
_FRAME = re.compile(
    rf"\b(?:(?:scale|from|between)(?: of)? {_ZERO_NUM} (?:to|through|and|-) {_TEN_NUM}"
    rf"|out of {_TEN_NUM}|(?<=[0-9a-z]) ?/ ?10)\b"
)
_PHONE = re.compile(r"\+?[0-9][0-9().\- ]{5,}[0-9]")
_CANDIDATE = re.compile(
    rf"\b(?P<num>[0-9]{{1,3}}(?:\.[0-9])?(?![0-9a-z:/])|{WORD_NUMBER}\b)"
    r"(?P<half> and a half|\.5)?"
)
# Words after a number that make it a count, a time or a date rather than a pain score.
_NOT_AFTER = re.compile(
    r" ?-?(?:years?|yrs?|months?|weeks?|days?|nights?|hours?|hrs?|minutes?|mins?|seconds?|ago"
    r"|a\.?m\.?|p\.?m\.?|o'?clock|thirty|fifteen|forty[- ]five|oh [a-z]+|times?|teeth|tooth"
    r"|molars?|kids?|children|people|pills?|tablets?|mg|milligrams?|percent|%|dollars?|bucks"
    r"|cents?|in the (?:morning|afternoon|evening)|at night|tonight|tomorrow|st|nd|rd|th"
    r"|year[- ]olds?|of(?! (?:10|ten)\b)|front|back|bottom|top|upper|lower|wisdom|more|other"
    r"|different|separate|sons?|daughters?|small|little|big|large|new|old|extra|cavit\w+"
    r"|fillings?|crowns?|implants?|visits?|appointments?|[0-9])\b"
)
# Words before a number that make it an address, a time or an item rather than a pain score.
_NOT_BEFORE = frozenset(
    words(
        "at by after before until till til since from the number no. # $ tooth took take taking"
        " every last next past in for ages aged age room suite unit apartment apt extension ext"
        " floor route highway grade class version page chapter channel code pin step my our your"
        " his her their those these both all this that which whose each"
        " monday tuesday wednesday thursday friday saturday sunday january february march april"
        " may june july august september october november december"
    )
)
# "one" is also a pronoun ("the one in the back"); trust it only after words that introduce
# a score.
_ONE_OK_BEFORE = frozenset(
    words("a about like maybe probably around only just barely say is it's its was be 's")
)
_JOIN = re.compile(
    r"^(?:,? ?(?:or|to|-|/|through|and|,|or maybe|maybe|maybe even|or even|or so|possibly)"
    r"(?: (?:a|an|like|like a|maybe a|even a))? ?)$"
)
_ZERO = re.compile(
    r"\b(?:no (?:pain|discomfort)|pain[- ]free|painless|(?:not|no longer) (?:in )?(?:any )?pain"
    r"|(?:doesn'?t|does not|don'?t|do not|isn'?t|is not|not|never) (?:really |actually |even )?"
    r"(?:hurt\w*|painful|sore|ache|aching|bother\w*))\b"
)
_ZERO_ASKED = re.compile(r"^(?:none|nothing|zero|not at all|it'?s fine|fine)\b")
_SPOKEN_DIGIT_RUN = 3


def _candidates(norm: str) -> list[tuple[int, int, float]]:
    """Numbers that read as scores: (start, end, value)."""
    masked = _PHONE.sub(lambda m: " " * len(m.group()), norm)
    masked = _FRAME.sub(lambda m: " " * len(m.group()), masked)
    found: list[tuple[int, int, float]] = []
    raw = list(_CANDIDATE.finditer(masked))
    # Three or more numbers in a row ("five five five one two") are digits of a phone number.
    runs: list[list[re.Match[str]]] = []
    for m in raw:
        if runs and masked[runs[-1][-1].end() : m.start()].strip(" -.,") == "":
            runs[-1].append(m)
        else:
            runs.append([m])
    excluded_end = -1
    for run in runs:
        if len(run) >= _SPOKEN_DIGIT_RUN:
            continue
        for m in run:
            said = m.group("num")
            before = masked[: m.start()].split()
            prev = before[-1] if before else ""
            if prev in _NOT_BEFORE:
                excluded_end = m.end()
                continue
            if masked[excluded_end : m.start()].strip() == "" and excluded_end >= 0:
                # "at 5 30": the second number belongs to the excluded time.
                excluded_end = m.end()
                continue
            if _NOT_AFTER.match(masked, m.end()):
                excluded_end = m.end()
                continue
            if said == "one" and prev not in _ONE_OK_BEFORE and before:
                nxt = masked[m.end() :].lstrip()
                if not nxt.startswith(("or ", "to ", "- ", "out of")):
                    continue
            value = float(said) if said[0].isdigit() else float(to_int(said) or 0)
            if m.group("half"):
                value += 0.5
            found.append((m.start(), m.end(), value))
    return found


def _score(norm: str) -> int | None:
    found = _candidates(norm)
    if not found:
        return None
    # The last reading wins ("a four, actually more like a six"); within "X or Y" the higher.
    group = [found[-1]]
    for item in reversed(found[:-1]):
        if _JOIN.match(norm[item[1] : group[0][0]]):
            group.insert(0, item)
        else:
            break
    value = math.ceil(max(v for _, _, v in group))
    return value if value <= 10 else -1


def pain_level(text: str, *, asked: bool) -> int | None:
    """Read a 0-10 pain score from an utterance.

    Args:
        text: The caller's utterance.
        asked: Whether the agent has just asked for a pain score; without that, a number only
            counts when the utterance talks about pain ("it hurts, like a seven").

    Returns:
        The score; the higher of "six or seven"; 0 for "no pain" or "it doesn't hurt"; None when
        there is no score or it is above 10.
    """
    norm = normalize(text)
    if not norm:
        return None
    has_cue = _CUE.search(norm) is not None
    if not asked and not has_cue:
        return None
    score = _score(norm)
    if score is not None:
        return score if score >= 0 else None
    if _ZERO.search(norm):
        return 0
    if asked and (_ZERO_ASKED.search(norm) or yes_no(norm) == "no"):
        return 0
    return None
