"""Yes, no or unsure: the answer a caller gave to a closed question."""

from __future__ import annotations

import re
from typing import Literal

from dentalvoice.conversation.nlu._text import normalize

YesNo = Literal["yes", "no", "unsure"]

_SURE_ADVERB = r"(?:really |so |too |very |quite |entirely |totally |a hundred percent |100% )?"

# Ordered so that at any position the most specific phrase wins: "not sure" before "not",
# "no problem" before "no", "i don't know" before "i don't". Label "-" consumes a phrase that
# looks like an answer word but is not one ("make sure", "right now").
_PHRASES: list[tuple[str, str]] = [
    # Phrases that contain a shorter answer word of another kind.
    (r"make sure|right now|right away|right side|right there|on the right|no one|nobody", "-"),
    (r"no problem|no worries|not a problem|no doubt|why not|i don'?t mind|i do not mind", "yes"),
    (r"(?:i'?m |i am )?not " + _SURE_ADVERB + r"(?:sure|certain)", "unsure"),
    (
        r"i (?:don'?t|do not|dont) (?:really )?(?:know|remember|recall)|i can'?t (?:remember|say)",
        "unsure",
    ),
    (r"not that i (?:know|remember)|i (?:don'?t|do not) think so|i think not", "no"),
    (r"(?:probably|definitely|absolutely|certainly|of course|maybe) not", "no"),
    (r"no thanks?(?: you)?|not really|not at all|not now|not yet|no way|not exactly", "no"),
    (
        r"(?:that'?s|that is|it'?s|it is|you'?re|thats)"
        r" (?:not (?:right|correct|true|it)|wrong|incorrect)",
        "no",
    ),
    (r"not (?:right|correct|true)|uh[- ]uh", "no"),
    (r"i (?:think|believe|guess|suppose|reckon) so|pretty sure|i'?m sure|i am sure", "yes"),
    (
        r"(?:that'?s|that is|thats|it'?s|you'?re) (?:right|correct|true|it|me|fine|good|perfect)",
        "yes",
    ),
    (r"sounds (?:good|great|fine|perfect)|that works|works for me|go ahead|go for it", "yes"),
    (r"please do|yes please|sure thing|of course|for sure|you bet|you got it|all right", "yes"),
    (r"uh[- ]?huh|m+[- ]?hm+|mhm+|this is (?:he|she|him|her)|speaking", "yes"),
    (r"i (?:do|am|have|did|would|will|can(?!'?t))(?!n?'?t)\b", "yes"),
    (
        r"(?:i'?ve|i have|i)? ?got (?:a (?:few |couple (?:of )?)?|some |a little )?"
        r"(?:minutes?|moments?|secs?|seconds?|time|bit)\b",
        "yes",
    ),
    (r"i'?m not|i am not|i (?:don'?t|do not|haven'?t|have not|didn'?t|won'?t|can'?t|cannot)", "no"),
    (r"it (?:isn'?t|is not|doesn'?t|does not|wasn'?t)|it'?s not|nothing", "no"),
    (r"(?:i )?dunno|no idea|unsure|uncertain|maybe|perhaps|possibly|might be|could be", "unsure"),
    (r"hard to say|it depends|depends|kind of|kinda|sort of|sorta|i guess|not sure", "unsure"),
    # Single answer words.
    (r"yes|yeah|yea|yep|yup|ya|yah|yeh|yess+|correct|exactly|absolutely|definitely", "yes"),
    (r"certainly|indeed|affirmative|sure|ok|okay|alright|fine|true|probably|totally", "yes"),
    (r"^right", "yes"),
    (r"no|nope|nah|naw|negative|never|incorrect|wrong", "no"),
]
_GROUPS = {f"g{i}": label for i, (_, label) in enumerate(_PHRASES)}
# One boundary test in front of the whole alternation keeps the scan cheap.
_ANSWER = re.compile(
    r"\b(?:"
    + "|".join(rf"(?P<g{i}>(?:{pattern})\b)" for i, (pattern, _) in enumerate(_PHRASES))
    + ")"
)
# "yeah", "okay", "well" often open an answer that then says the opposite: "yeah no".
_WEAK = frozenset({"yeah", "yea", "ya", "yah", "yeh", "ok", "okay", "alright", "sure"})
_CORRECTION = re.compile(r"\b(?:actually|i mean|wait|on second thought|scratch that|sorry)\b")


def _matches(norm: str) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    for m in _ANSWER.finditer(norm):
        label = _GROUPS[m.lastgroup or ""]
        if label != "-":
            found.append((label, m.start(), m.group()))
    return found


def yes_no(text: str) -> YesNo | None:
    """Classify a reply to a closed question.

    Args:
        text: The caller's utterance.

    Returns:
        "yes", "no" or "unsure"; None when the utterance carries no answer at all.
    """
    norm = normalize(text)
    found = _matches(norm)
    if not found:
        return None
    # After a self-correction only the corrected answer counts: "no, actually yes".
    fixes = list(_CORRECTION.finditer(norm))
    if fixes:
        last_fix = fixes[-1]
        after = [f for f in found if f[1] >= last_fix.end()]
        found = after or found
    labels = {label for label, _, _ in found}
    if "unsure" in labels:
        return "unsure"
    if len(labels) == 1:
        return found[0][0]  # type: ignore[return-value]
    first_label, _, first_word = found[0]
    if first_word in _WEAK:
        # "yeah no" and "okay, no" mean no: the opener is filler when a firmer word follows.
        firm = [f for f in found[1:] if f[2] not in _WEAK]
        if firm:
            return firm[0][0]  # type: ignore[return-value]
    return first_label  # type: ignore[return-value]
