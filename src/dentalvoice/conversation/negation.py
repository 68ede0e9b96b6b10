"""Whether a phrase found in an utterance is negated ("no swelling", "I don't have a fever")."""

from __future__ import annotations

import re

# Words that negate what follows them within a short window.
_NEGATORS = frozenset(
    {"no", "not", "never", "none", "nobody", "without", "nor", "neither", "cannot", "nothing"}
    | {"zero"}
    | {
        f"{stem}{apostrophe}t"
        for stem in ("don", "doesn", "didn", "isn", "aren", "wasn", "haven", "hasn", "hadn")
        + ("can", "won", "ain")
        for apostrophe in ("'", "")
    }
)
# A clause boundary ends a negation's reach: "no fever but my face is swelling". Transcripts
# often lack punctuation, so some words stand in for it: "nothing like that just bleeding",
# "no fever and my face is swollen", and a bare "no" answering before a new subject
# ("no it won't stop bleeding") is an interjection, not a determiner.
_PUNCTUATION = frozenset(".,;!?")
_BOUNDARY_WORDS = frozenset(
    {"but", "though", "although", "however", "except", "yet", "just", "only", "besides"}
    | {"because", "cause", "cuz", "which", "yes", "yeah", "yep"}
)
_BOUNDARY_PAIRS = frozenset({("other", "than"), ("apart", "from"), ("oh", "no")})
_NEW_SUBJECT = frozenset(
    {"i", "i'm", "im", "i've", "ive", "i'd", "i'll", "my", "it", "it's", "its", "it'll"}
    | {"he", "she", "they", "we"}
)
# "and" before these starts a new clause; "no" before these is an answer, then a new clause.
_AFTER_AND = _NEW_SUBJECT | {"the", "now", "then"}
_AFTER_NO = _NEW_SUBJECT | {"you"}
_ANSWER_NO = frozenset({"no", "nope", "nah"})
# Fillers carry no meaning but would use up the window: "I don't uh really have any fever".
_FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "hm", "mm"})
# After "don't think" / "don't believe" the negated phrase sits further away.
_HEDGES = frozenset({"think", "believe", "guess", "suppose", "reckon", "recall", "remember"})
HEDGE_EXTRA_WORDS = 3
# A negated "stop" cancels out: "I can't stop the bleeding" affirms the bleeding.
_STOPS = frozenset({"stop", "stops", "stopped", "stopping", "quit"})
STOP_REACH_WORDS = 4
# "Never ... like this" is emphasis, not denial: "I've never had swelling like this".
_EMPHASIS_AFTER = re.compile(
    r"^[^.,;!?]*?\b(?:like (?:this|that|it)|this (?:bad|much|big)|so (?:bad|much|big))\b"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_TOKEN = re.compile(r"[\w']+|[.,;!?]")
WINDOW_WORDS = 4
# Only the last words before the phrase can matter: the window, its hedge extension, fillers
# and a multi-word boundary fit in these. Cutting here keeps long utterances linear.
TAIL_TOKENS = 14


def _clause(tokens: list[str]) -> list[str]:
    """The tokens after the last clause boundary."""
    for i in range(len(tokens) - 1, -1, -1):
        word = tokens[i]
        if word in _PUNCTUATION or word in _BOUNDARY_WORDS:
            return tokens[i + 1 :]
        if i and (tokens[i - 1], word) in _BOUNDARY_PAIRS:
            return tokens[i + 1 :]
        if i + 1 < len(tokens):
            following = tokens[i + 1]
            if (word == "and" and following in _AFTER_AND) or (
                word in _ANSWER_NO and following in _AFTER_NO
            ):
                return tokens[i + 1 :]
    return tokens


def _is_negator(word: str) -> bool:
    return word in _NEGATORS or (word.endswith("'s") and word[:-2] in _NEGATORS)


def _stop_follows(window: list[str], i: int) -> bool:
    after = window[i + 1 : i + 1 + STOP_REACH_WORDS]
    return any(w in _STOPS for w in after) or any(
        a == "let" and b == "up" for a, b in zip(after, after[1:], strict=False)
    )


def is_negated(text: str, start: int) -> bool:
    """True when a negator stands within a few words before `start`, in the same clause.

    Args:
        text: The utterance the phrase was found in.
        start: Index in `text` where the phrase begins.

    Returns:
        Whether the phrase at `start` is denied rather than asserted.
    """
    tail = " ".join(text[:start].rsplit(None, TAIL_TOKENS)[-TAIL_TOKENS:]).lower()
    if "`" in tail or not tail.isascii():
        tail = tail.translate(_APOSTROPHES)
    tokens = _TOKEN.findall(tail)
    words = [w for w in _clause(tokens) if w not in _FILLERS]
    size = WINDOW_WORDS
    if any(w in _HEDGES for w in words[-WINDOW_WORDS:]):
        size += HEDGE_EXTRA_WORDS
    window = words[-size:]
    negators = [w for i, w in enumerate(window) if _is_negator(w) and not _stop_follows(window, i)]
    if not negators:
        return False
    if all(n == "never" for n in negators):
        after = text[start : start + 80].lower()
        return not _EMPHASIS_AFTER.match(after)
    return True
