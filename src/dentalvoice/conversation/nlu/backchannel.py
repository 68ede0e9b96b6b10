"""Backchannels: the "mhm" and "yeah" a listener says to show they follow, not to take the turn."""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import normalize

# Single tokens and two-word phrases a listener says while the other keeps talking. Whisper
# writes a murmur as "Mm-hmm.", "Mhm.", "Uh-huh." or "Hmm."; on a short murmur tiny.en also
# tends to write "Thank you." or "Okay.", which are listener words too.
_WORDS = frozenset(
    {
        "mhm", "mm", "mmhmm", "mmhm", "mhmm", "hmm", "hm", "uhhuh", "uhuh", "aha", "ah", "oh",
        "um", "uh",
        "yeah", "yes", "yep", "yup", "ya", "okay", "ok", "right", "sure", "alright", "cool",
        "great", "good", "fine", "thanks", "gotcha", "totally", "exactly",
    }
)  # fmt: skip
_PHRASES = frozenset(
    {
        "all right", "i see", "got it", "thank you", "of course", "go on", "go ahead",
        "oh okay", "oh ok", "makes sense", "sounds good",
    }
)  # fmt: skip
# However Whisper spells a murmur ("Mm-hmm", "Nmm", "Hmmm", "Uh-huh"): only these letters.
_MURMUR = re.compile(r"^[mhnu]{2,}$")
_JOINERS = re.compile(r"(?<=\w)-(?=\w)")
_NOT_WORD = re.compile(r"[^a-z' ]+")
# More than this is someone saying something.
MAX_WORDS = 4


def is_backchannel(text: str) -> bool:
    """Whether `text`, said while the agent was talking, only acknowledges it.

    True for "Mm-hmm.", "Yeah, okay.", "Right, got it."; False for anything carrying content
    ("yeah but I'm busy"), for a question, and for an empty transcript.

    Args:
        text: A caller transcript.
    """
    if "?" in text:
        return False
    words = _NOT_WORD.sub(" ", _JOINERS.sub("", normalize(text))).split()
    if not words or len(words) > MAX_WORDS:
        return False
    i = 0
    while i < len(words):
        if i + 1 < len(words) and f"{words[i]} {words[i + 1]}" in _PHRASES:
            i += 2
        elif words[i] in _WORDS or _MURMUR.match(words[i]):
            i += 1
        else:
            return False
    return True
