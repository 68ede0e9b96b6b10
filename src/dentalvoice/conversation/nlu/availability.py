"""When a caller can come in: weekdays and windows of the day, local to the clinic."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from dentalvoice.conversation.nlu._text import negated, normalize, words
from dentalvoice.conversation.nlu.timeexpr import (
    CLOCK,
    DAY,
    PART,
    WEEKDAYS,
    Clock,
    clock_of,
    day_index,
    hhmm,
    not_a_time,
    part_of,
)
from dentalvoice.conversation.qualification import Availability, TimeWindow

# A cheap test that skips all parsing for utterances with no time words in them.
_PRECHECK = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun|week|morning|afternoon|evening|night|tonight|lunch|noon"
    r"|midday|any ?time|whenever|flexible|after|before|between|from|until|till|around|at"
    r"|today|tomorrow|day ?time|during|[0-9]+ ?[ap]\.? ?m|o'?clock|[0-9]{1,2}:[0-9]{2}|any day"
    r"|every ?day|whatever|free|open)"
)
_FLEXIBLE = re.compile(
    r"\b(?:any ?time|whenever|flexible|any day|every ?day|whatever (?:works|is (?:best|easiest)"
    r"|you have)|(?:doesn'?t|does not|don'?t) matter|(?:i'?m |i am )?(?:free|open|available)"
    r" (?:all (?:day|week)|any ?(?:day|time)|whenever)|wide open|any day of the week)\b"
)
_WEEK = re.compile(r"\b(?:next|this|the following|coming) week\b|\bsometime this week\b")
_WEEKDAYS = re.compile(r"\b(?:week ?days?|during the week|monday (?:to|through|thru|-) friday)\b")
_WEEKEND = re.compile(r"\bweek ?ends?\b")
_RELATIVE_DAY = re.compile(
    r"\b(?:(?P<after>the day after tomorrow)|(?P<today>today)|(?P<tom>tomorrow))\b"
)
_DAY_RANGE = re.compile(
    DAY.pattern + r" ?(?:to|through|thru|till|until|-) ?" + DAY.pattern.replace("day>", "day2>")
)
_EXCLUDE = re.compile(
    r"\b(?:except(?: for| on)?|but not|other than|besides|apart from|anything but|excluding"
    r"|not on|i work|i'?m working|i'?m at work|working|i have work|busy|unavailable|can'?t do"
    r"|cannot do|can'?t make|no good|any ?(?:day|time|thing) but)\b"
)
_BAD_AFTER = re.compile(
    r"(?: (?:are|is|'re|'s|would be|will be))? (?:bad|no good|not good|tough|hard|difficult"
    r"|out|impossible|don'?t work|won'?t work|doesn'?t work|busy|are out|not great)"
)
_SCOPE_END = re.compile(r"[.;,!?]|\b(?:but|so|and i|though)\b")
# Words just before a weekday that make it the past: "it started hurting on Monday".
_PAST = frozenset(
    words(
        "since last past started began happened broke broken cracked chipped was were went ago did"
        " had saw called yesterday hurt hurting hurts"
    )
)
_CALLBACK = re.compile(r"\bcall(?:ing)? (?:me|us|back)\b|\bring me\b")
# Times in a clause about symptoms date the symptoms: "it keeps me up at night".
_SYMPTOM = re.compile(
    r"\b(?:pain\w*|hurt\w*|ach(?:e|es|ing|y)|sore|swell\w*|swollen|bleed\w*|broke\w*|crack\w*"
    r"|chipp?\w*|fell out|came out|started|began|keeps me up|throbb\w*|worse|sensitive)\b"
)
_CLAUSE_END = re.compile(r"[.;,!?]|\b(?:and|but|so|because)\b")
_LINKED = re.compile(r"^ ?(?:to|and|till|until|through|-) ?$")
_CLOCK_PREP = re.compile(
    r"\b(?P<prep>after|before|until|till|til|by|at|around|about|from|between)"
    r"(?: like| about| around)? $"
)
_DAY_START = 8 * 60
_AFTER_END = 18 * 60
_EVENING_END = 20 * 60
_STANDARD_PARTS = ((8 * 60, 12 * 60), (12 * 60, 17 * 60), (17 * 60, 20 * 60))


def _blank_other_clauses(norm: str) -> str:
    """Blank clauses that ask for a callback or date a symptom; offsets stay valid."""
    start = 0
    for end in [*_CLAUSE_END.finditer(norm), None]:
        stop = end.start() if end is not None else len(norm)
        clause = norm[start:stop]
        if _CALLBACK.search(clause) or _SYMPTOM.search(clause):
            norm = norm[:start] + " " * len(clause) + norm[stop:]
        start = end.end() if end is not None else len(norm)
    return norm


def _excluded(norm: str, start: int, end: int, scopes: list[tuple[int, int]]) -> bool:
    if negated(norm, start) or _BAD_AFTER.match(norm, end):
        return True
    return any(s <= start < e for s, e in scopes)


def _exclusion_scopes(norm: str) -> list[tuple[int, int]]:
    scopes = []
    for m in _EXCLUDE.finditer(norm):
        stop = _SCOPE_END.search(norm, m.end())
        scopes.append((m.end(), stop.start() if stop else len(norm)))
    return scopes


def _past(norm: str, start: int) -> bool:
    return any(w in _PAST for w in norm[:start].split()[-3:])


def _window(clock_a: Clock, clock_b: Clock | None, prep: str) -> tuple[int, int] | None:
    a = clock_a.hour24() * 60 + clock_a.minute
    if clock_b is not None:
        if clock_b.meridiem and not clock_a.meridiem:
            hint = clock_b.meridiem
            if clock_a.hour % 12 > clock_b.hour % 12:
                hint = "am" if clock_b.meridiem == "pm" else "pm"
            a = clock_a.hour24(hint) * 60 + clock_a.minute
        b = clock_b.hour24() * 60 + clock_b.minute
        if b <= a and b + 12 * 60 <= 24 * 60:
            b += 12 * 60
        return (a, b) if a < b else None
    if prep == "after":
        end = (
            _AFTER_END if a < 17 * 60 else _EVENING_END if a < _EVENING_END else min(a + 120, 1440)
        )
        return (a, end) if a < end else None
    if prep in ("before", "until", "till", "til", "by"):
        start = _DAY_START if a > _DAY_START else max(a - 120, 0)
        return (start, a) if start < a else None
    return (a, min(a + 60, 24 * 60))


def availability(text: str, *, now: datetime) -> Availability | None:
    """Read when the caller can come in.

    Args:
        text: The caller's utterance, e.g. "Tuesday afternoons or after 3 on weekdays".
        now: The clinic's current local time; "today" and "tomorrow" are read against it.

    Returns:
        Days and windows ("HH:MM" local); empty lists mean any ("I'm flexible"). None when the
        utterance says nothing about days or times.
    """
    norm = normalize(text)
    if not norm or not _PRECHECK.search(norm):
        return None
    # A callback request ("call me at 5") is not availability for an appointment.
    norm = _blank_other_clauses(norm)
    scopes = _exclusion_scopes(norm)
    days_in: set[int] = set()
    days_out: set[int] = set()
    wins_in: list[tuple[int, int]] = []
    wins_out: list[tuple[int, int]] = []
    heard = False

    def add_days(values: list[int], start: int, end: int) -> None:
        nonlocal heard
        heard = True
        (days_out if _excluded(norm, start, end, scopes) else days_in).update(values)

    def add_window(
        window: tuple[int, int] | None, start: int, end: int, flip: bool = False
    ) -> None:
        nonlocal heard
        if window is None:
            return
        heard = True
        if _excluded(norm, start, end, scopes) and not flip:
            wins_out.append(window)
        else:
            wins_in.append(window)

    taken: list[tuple[int, int]] = []
    for m in _DAY_RANGE.finditer(norm):
        a, b = day_index(m.group("day")), day_index(m.group("day2"))
        add_days([(a + i) % 7 for i in range((b - a) % 7 + 1)], m.start(), m.end())
        taken.append((m.start(), m.end()))
    for m in DAY.finditer(norm):
        if any(s <= m.start() < e for s, e in taken) or _past(norm, m.start()):
            continue
        add_days([day_index(m.group("day"))], m.start(), m.end())
    for m in _WEEKDAYS.finditer(norm):
        if not any(s <= m.start() < e for s, e in taken):
            add_days([0, 1, 2, 3, 4], m.start(), m.end())
    for m in _WEEKEND.finditer(norm):
        if not _past(norm, m.start()):
            add_days([5, 6], m.start(), m.end())
    for m in _RELATIVE_DAY.finditer(norm):
        offset = 2 if m.group("after") else 0 if m.group("today") else 1
        add_days([(now + timedelta(days=offset)).weekday()], m.start(), m.end())

    part_spans: list[tuple[int, int]] = []
    for m in PART.finditer(norm):
        part = part_of(m)
        part_spans.append((m.start(), m.end()))
        add_window((part.start * 60, part.end * 60), m.start(), m.end())

    clocks = []
    for m in CLOCK.finditer(norm):
        if any(s <= m.start() < e for s, e in part_spans):
            continue
        clock = clock_of(m)
        if clock is not None and not not_a_time(norm, clock):
            clocks.append(clock)
    used: set[int] = set()
    for i, clock in enumerate(clocks):
        if i in used:
            continue
        prep_m = _CLOCK_PREP.search(norm, max(0, clock.start - 20), clock.start)
        prep = prep_m.group("prep") if prep_m else ""
        nxt = clocks[i + 1] if i + 1 < len(clocks) else None
        if (
            nxt is not None
            and _LINKED.match(norm[clock.end : nxt.start])
            and (prep in ("between", "from") or clock.explicit or nxt.explicit)
        ):
            used.add(i + 1)
            add_window(_window(clock, nxt, "range"), clock.start, nxt.end)
            continue
        if not prep and not clock.explicit:
            continue  # a bare number is not a time: "a six or seven"
        if prep in ("until", "till", "til") and _EXCLUDE.search(norm, 0, clock.start):
            # "I work until 5": free after it.
            add_window(_window(clock, None, "after"), clock.start, clock.end, flip=True)
            continue
        start = prep_m.start() if prep_m else clock.start
        flip = False
        if prep in ("after", "before") and negated(norm, start):
            prep, flip = ("before" if prep == "after" else "after"), True
        add_window(_window(clock, None, prep or "at"), start, clock.end, flip=flip)

    flexible = any(not negated(norm, m.start()) for m in _FLEXIBLE.finditer(norm))
    if not (heard or flexible or _WEEK.search(norm)):
        return None
    days = days_in - days_out if days_in else (set(range(7)) - days_out if days_out else set())
    wins = [w for w in wins_in if w not in wins_out]
    if not wins and wins_out:
        wins = [
            p for p in _STANDARD_PARTS if not any(o[0] < p[1] and p[0] < o[1] for o in wins_out)
        ]
    # "mornings around 10": the narrower window says more than the part of day around it.
    spans = sorted(set(wins))
    spans = [w for w in spans if not any(o != w and w[0] <= o[0] and o[1] <= w[1] for o in spans)]
    # "afternoons after 3": two overlapping constraints said together narrow each other.
    narrowed: list[tuple[int, int]] = []
    for w in spans:
        if narrowed and w[0] < narrowed[-1][1]:
            narrowed[-1] = (max(narrowed[-1][0], w[0]), min(narrowed[-1][1], w[1]))
        else:
            narrowed.append(w)
    spans = narrowed
    windows = [TimeWindow(start=hhmm(a), end=hhmm(b)) for a, b in spans]
    return Availability(
        days=[WEEKDAYS[d] for d in sorted(days)], windows=windows, raw=text.strip()[:200]
    )
