"""A short, neutral chief complaint for the CRM note, cut from the caller's own words."""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import clip, negated, normalize
from dentalvoice.conversation.nlu.treatments import mentions

LIMIT = 80

_CLAUSES = re.compile(r"[.;!?]+|,|\b(?:and|but|so|because|cause|'cause|plus|also|though)\b")
# Asides that join two thoughts ("a root canal I think my dentist said") end a clause.
_ASIDES = re.compile(r"\b(?:i think|i guess|i believe|i mean|you know)\b")
_FILLERS = re.compile(
    r"\b(?:u+m+|u+h+m*|e+rm*|h+m+|so basically"
    r"|basically|honestly|literally|kind of|sort of|kinda|sorta|actually|just|pretty much"
    r"|to be honest)\b"
)
# Openers that carry no content: "well", "okay so", "yeah".
_OPENERS = re.compile(
    r"^(?:(?:well|so|okay|ok|yeah|yes|yep|no|oh|hi|hello|hey|like|and|but|right|sure|alright"
    r"|um|uh)\b ?)+"
)
_SALIENT = re.compile(
    r"\b(?:pain\w*|hurt\w*|ach(?:e|es|ing|y)|toothache|sore\w*|swell\w*|swollen|bleed\w*"
    r"|broke\w*|crack\w*|chip\w*|loose|sensitiv\w*|missing|lost|fell out|came out|infect\w*"
    r"|abscess\w*|throbb\w*|cavit\w*|decay\w*|rotten|stain\w*|crooked|gap|bump|lump|numb\w*"
    r"|tooth|teeth|molars?|wisdom|filling\w*|crowns?|smile)\b"
)
_SUBJECT = re.compile(
    r"^(?:i'?m|i am|i'?ve|i have|i'?d|i had|i|we'?re|we|it'?s|it is|it has|it|there'?s"
    r"|there is|this is|that'?s|i'?ve got|i got|got|gotten) "
)
_INTEREST = re.compile(
    r"^(?:(?:(?:would|'d) )?like(?= to )|want(?:ed)?|looking (?:for|into)|thinking (?:about|of)"
    r"|considering|wondering about|calling (?:about|for|regarding)|interested in"
    r"|hoping (?:for|to get)|curious about|asking about|inquiring about) (?:to (?:get|have|do) )?"
)
_NEED = re.compile(
    r"^(?:need(?:s|ed)?|been having|having|been|get|getting|have|has) (?:to (?:get|have) )?"
)
_ARTICLE = re.compile(r"^(?:a|an|some|the|this|that) ")
_POSSESSIVE = re.compile(r"\bmy ")
_SPACES = re.compile(r" {2,}")
_PRONOUN_I = re.compile(r"\bi\b(?=(?:'[a-z]+)? )")


def _tidy(clause: str) -> str:
    clause = _FILLERS.sub(" ", clause)
    clause = _SPACES.sub(" ", clause).strip(" ,-'\"")
    clause = _OPENERS.sub("", clause)
    for _ in range(3):
        stripped = _SUBJECT.sub("", clause)
        if stripped == clause:
            break
        clause = stripped
    interest = _INTEREST.match(clause)
    if interest is not None:
        rest = clause[interest.end() :]
        verb = "wants " if interest.group().endswith(("get ", "have ", "do ")) else "interested in "
        clause = verb + _ARTICLE.sub("", rest)
    else:
        clause = _ARTICLE.sub("", _NEED.sub("", clause))
    clause = _POSSESSIVE.sub("", clause)
    clause = _PRONOUN_I.sub("I", clause)
    return _SPACES.sub(" ", clause).strip(" ,")


def chief_complaint(text: str) -> str | None:
    """Summarise what the caller is calling about, in at most 80 characters.

    Args:
        text: The caller's utterance, e.g. "um I lost a tooth and I'm interested in implants".

    Returns:
        A neutral description such as "lost a tooth, interested in implants"; None when the
        utterance names no symptom or treatment (greetings, yes/no answers).
    """
    norm = normalize(text)
    if not norm:
        return None
    norm = _ASIDES.sub(lambda m: "," + " " * (len(m.group()) - 1), norm)
    salient = [m.start() for m in _SALIENT.finditer(norm) if not negated(norm, m.start())]
    salient += [start for _, start, _ in mentions(norm)]
    if not salient:
        return None
    parts: list[str] = []
    start = 0
    bounds = [(m.start(), m.end()) for m in _CLAUSES.finditer(norm)] + [(len(norm), len(norm))]
    for cut, resume in bounds:
        if any(start <= s < cut for s in salient):
            piece = _tidy(norm[start:cut])
            if piece and piece not in parts:
                parts.append(piece)
        start = resume
    if not parts:
        return None
    # Whole clauses read better than a cut one; only a first clause that is too long is cut.
    summary = parts[0]
    for part in parts[1:]:
        if len(summary) + 2 + len(part) > LIMIT:
            break
        summary = f"{summary}, {part}"
    return clip(summary, LIMIT) or None
