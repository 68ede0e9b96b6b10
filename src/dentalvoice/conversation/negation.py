"""Whether a phrase found in an utterance is negated ("no swelling", "I don't have a fever")."""

from __future__ import annotations

import re

# Words that negate what follows them within a short window.
_NEGATORS = re.compile(
    r"\b(no|not|never|none|without|nor|neither|don'?t|doesn'?t|didn'?t|isn'?t|aren'?t|wasn'?t|"
    r"haven'?t|hasn'?t|hadn'?t|can'?t|cannot|won'?t|ain'?t|nothing|zero)\b"
)
# A clause boundary ends a negation's reach: "no fever but my face is swelling".
_BOUNDARY = re.compile(r"[.,;!?]|\b(but|though|although|however|except|and now|yet)\b")
WINDOW_WORDS = 4


def is_negated(text: str, start: int) -> bool:
    """True when a negator stands within a few words before `start`, in the same clause."""
    before = text[:start].lower()
    boundary = None
    for boundary in _BOUNDARY.finditer(before):
        pass
    if boundary is not None:
        before = before[boundary.end() :]
    words = before.split()[-WINDOW_WORDS:]
    return bool(_NEGATORS.search(" ".join(words)))
