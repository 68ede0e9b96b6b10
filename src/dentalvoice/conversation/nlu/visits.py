"""When the caller last saw a dentist, and whether they would be new to the clinic."""

from __future__ import annotations

import re

from dentalvoice.conversation.nlu._text import negated, normalize, words
from dentalvoice.conversation.nlu.numbers import WORD_NUMBER, to_int
from dentalvoice.conversation.nlu.yesno import yes_no

_MONTHS = words(
    "january february march april may june july august september october november december"
)
_MONTH = r"(?:" + "|".join(_MONTHS) + r")"
_QUALIFIERS = {
    "about": "about",
    "around": "about",
    "roughly": "about",
    "approximately": "about",
    "maybe": "about",
    "like": "about",
    "probably": "about",
    "close to": "almost",
    "almost": "almost",
    "nearly": "almost",
    "over": "over",
    "more than": "over",
    "at least": "over",
    "a little over": "over",
    "just over": "over",
    "a bit over": "over",
    "under": "less than",
    "less than": "less than",
    "just under": "less than",
}
_QUALIFIER = (
    r"(?:(?P<qual>"
    + "|".join(sorted((re.escape(q).replace(r"\ ", " ") for q in _QUALIFIERS), key=len)[::-1])
    + r") )?"
)
_COUNT = (
    rf"(?P<count>[0-9]{{1,2}}|{WORD_NUMBER}|a couple(?: of)?|couple(?: of)?|a few|few|several"
    r"|many|a handful of|an|a)"
)
_UNIT = r"(?P<unit>years?|yrs?|months?|weeks?|days?)"
_SPAN = rf"{_QUALIFIER}{_COUNT}(?P<half1> and a half)? {_UNIT}(?P<half2> and a half)?"
_AGO = re.compile(rf"\b{_SPAN}(?: or so)? (?:ago|back|before)\b")
_SINCE = re.compile(rf"\b(?:in|for) {_SPAN}\b")
_NOT_SINCE = re.compile(r"\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|not|never)\b")
_BARE = re.compile(rf"\b{_SPAN}\b")
_LAST = re.compile(
    r"\b(?:last|this past) (?P<what>year|month|week|summer|spring|fall|autumn|winter|christmas"
    rf"|{_MONTH})\b"
)
_THIS = re.compile(
    r"\b(?P<what>earlier this (?:year|month)|this year|this month|recently"
    r"|not long ago|a few weeks back|just (?:went|had|saw))\b"
)
_IN_MONTH = re.compile(
    rf"\b(?:in|back in|around|since) (?P<month>{_MONTH})(?: (?P<year>(?:19|20)[0-9]{{2}}))?\b"
)
_MONTH_OF_LAST_YEAR = re.compile(rf"\b(?P<month>{_MONTH}) (?:of )?last year\b")
_YEAR = re.compile(r"\b(?:in |back in |around |since )?(?P<year>(?:19[5-9]|20[0-9])[0-9])\b")
_CHILDHOOD = re.compile(
    r"\b(?:as a (?P<kid>kid|child|teen|teenager)|when i was (?:a )?(?P<was>kid|child|little|young"
    r"|teen|teenager|in high school|in college)|in (?P<school>high school|college))\b"
)
_NEVER = re.compile(r"\b(?:never (?:been|seen|gone|went|visited|had|go)|not ever|never)\b")
_NEVER_CUED = re.compile(
    r"\bnever (?:been to|seen|gone to|went to|visited|had) (?:a|the|any) "
    r"(?:dentist|dental|cleaning|checkup|check up)"
)
_LONG = re.compile(
    r"\b(?:a (?:very |really )?long (?:time|while)|long time|ages|forever|decades|years and years"
    r"|(?:it'?s been|been|for) years|many years|so long)\b"
)
_WHILE = re.compile(r"\b(?:a while|a bit|quite a while|some time)\b")
_UNKNOWN = re.compile(
    r"\b(?:can'?t remember|don'?t remember|cannot remember|can'?t recall|don'?t recall"
    r"|(?:don'?t|do not) know|not sure|no idea|no clue|forgot|dunno|can'?t say)\b"
)
_CUE = re.compile(
    r"\b(?:last (?:visit|saw|time|dental|cleaning|checkup|check up|appointment|exam|went)"
    r"|since i'?ve been|since i (?:went|was|saw|last|had|visited)"
    r"|(?:been|gone|went) to (?:a|the|my|any) dentist|(?:seen|saw|visited) (?:a|the|my|any) dentist"
    r"|(?:at|to) (?:a|the|my) dentist|dentist (?:in|since|for)"
    r"|(?:haven'?t|have not|hasn'?t|didn'?t) (?:been|gone|seen|had|visited))"
)

_NEW = re.compile(
    r"\b(?:new patient|(?:i'?m|i am|i'?d be|i would be|i'?ll be|i will be|we'?re|we are) (?:a )?new"
    r"|new here|new to (?:you|your|the|this)|first time|first visit|never been|never visited"
    r"|never came|never come)\b"
)
_EXISTING = re.compile(
    r"\b(?:existing patient|current patient|returning patient|regular patient"
    r"|already (?:a )?patient|(?:a|your) patient (?:there|here|with you|of|at)"
    r"|(?:i'?m|i am) (?:already )?(?:a |your )?patient"
    r"|been (?:there|here|to you|to your \w+|to that \w+|in) before|been (?:there|here)"
    r"|been seeing (?:dr|doctor)|i go there|i was there|i'?ve seen (?:dr|doctor)"
    r"|came in before|been a patient|been in before|seen you (?:guys )?before)\b"
)
_ASKED_WORD = re.compile(r"\b(new|existing|returning|current)\b")
_HEDGE = re.compile(r"\b(?:not sure|don'?t know|no idea|can'?t remember|don'?t remember|maybe)\b")


def _count(word: str) -> str:
    word = word.removesuffix(" of")
    if word in ("a", "an"):
        return "1"
    if word in ("a couple", "couple"):
        return "2"
    if word == "few":
        return "a few"
    value = to_int(word)
    return str(value) if value is not None else word


def _span(m: re.Match[str], *, default_qualifier: str = "") -> str:
    count = _count(m.group("count"))
    qualifier = _QUALIFIERS.get(m.group("qual") or "", default_qualifier)
    if m.group("count").startswith(("a couple", "couple")) and not qualifier:
        qualifier = "about"
    if (m.group("half1") or m.group("half2")) and count.isdigit():
        count = f"{count}.5"
    unit = {"yr": "year", "yrs": "years"}.get(m.group("unit"), m.group("unit")).rstrip("s")
    unit = unit if count == "1" else unit + "s"
    return " ".join(p for p in (qualifier, count, unit, "ago") if p)


def last_visit(text: str, *, asked: bool) -> str | None:
    """When the caller last saw a dentist, normalised for the CRM.

    Args:
        text: The caller's utterance.
        asked: Whether the agent has just asked about the last visit; without that, the
            utterance must itself talk about a visit ("I haven't been to a dentist in 5 years").

    Returns:
        "about 2 years ago", "6 months ago", "last year", "in March", "never", "unknown",
        "a long time ago" and the like; None when the utterance says nothing about it.
    """
    norm = normalize(text)
    if not norm or not (asked or _CUE.search(norm) or _NEVER_CUED.search(norm)):
        return None
    if m := _AGO.search(norm):
        return _span(m)
    # "haven't been in 5 years": at least that long.
    if (m := _SINCE.search(norm)) and (
        negated(norm, m.start()) or _NOT_SINCE.search(norm, 0, m.start())
    ):
        return _span(m, default_qualifier="over")
    if m := _LAST.search(norm):
        what = m.group("what")
        return "last " + (what.capitalize() if what in _MONTHS or what == "christmas" else what)
    if m := _MONTH_OF_LAST_YEAR.search(norm):
        return f"in {m.group('month').capitalize()} last year"
    if m := _IN_MONTH.search(norm):
        year = f" {m.group('year')}" if m.group("year") else ""
        return f"in {m.group('month').capitalize()}{year}"
    if m := _YEAR.search(norm):
        return f"in {m.group('year')}"
    if m := _THIS.search(norm):
        what = m.group("what")
        return "recently" if what.startswith(("recently", "not long", "just", "a few")) else what
    if m := _CHILDHOOD.search(norm):
        said = m.group("kid") or m.group("was") or m.group("school") or ""
        if "college" in said:
            return "in college"
        return "as a teenager" if "teen" in said or "high school" in said else "as a child"
    if _NEVER_CUED.search(norm) or (asked and _NEVER.search(norm)):
        return "never"
    if _LONG.search(norm):
        return "a long time ago"
    if m := _BARE.search(norm):
        return _span(m)
    if _WHILE.search(norm):
        return "a while ago"
    if _UNKNOWN.search(norm):
        return "unknown"
    return None


def new_patient(text: str, *, asked: bool) -> bool | None:
    """Whether the caller would be a new patient of the clinic.

    Args:
        text: The caller's utterance.
        asked: Whether the agent has just asked "would you be a new patient?", so that a bare
            "yes" or "no" answers it.

    Returns:
        True for a new patient, False for an existing one, None when the utterance does not say.
    """
    norm = normalize(text)
    if not norm:
        return None
    if _HEDGE.search(norm):
        return None
    verdict: bool | None = None
    spans: list[tuple[int, bool]] = [(m.start(), True) for m in _NEW.finditer(norm)]
    spans += [(m.start(), False) for m in _EXISTING.finditer(norm)]
    for start, value in sorted(spans):
        # "never been" carries its own negation; others flip when negated ("not a new patient").
        own_negation = norm.startswith("never", start)
        verdict = value if own_negation or not negated(norm, start) else not value
    if verdict is not None:
        return verdict
    if asked:
        # A one-word answer to the question itself: "new", "brand new", "existing".
        word = _ASKED_WORD.search(norm)
        if word is not None:
            is_new = word.group(1) == "new"
            return not is_new if negated(norm, word.start()) else is_new
        answer = yes_no(norm)
        if answer == "yes":
            return True
        if answer == "no":
            return False
    return None
