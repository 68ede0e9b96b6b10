"""One specific future moment named by a caller: "tomorrow at 3", "in an hour", "tonight"."""

from __future__ import annotations

import functools
import re
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dentalvoice.conversation.nlu._text import negated, normalize, words
from dentalvoice.conversation.nlu.numbers import ORDINAL, WORD_NUMBER, ordinal_to_int, to_int
from dentalvoice.conversation.nlu.timeexpr import (
    CLOCK,
    DAY,
    PART,
    Clock,
    Meridiem,
    PartOfDay,
    clock_of,
    day_index,
    not_a_time,
    part_of,
)

_MONTHS = words(
    "january february march april may june july august september october november december"
)
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_COUNT = (
    rf"(?P<n>half an?|an?|one|a couple(?: of)?|couple(?: of)?|a few|few|[0-9]{{1,3}}"
    rf"|{WORD_NUMBER})(?P<half> and a half)?"
)
_UNIT = r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?)"
_RELATIVE = re.compile(
    rf"\bin (?:about |like |roughly |around |maybe |another )?{_COUNT} {_UNIT}\b"
    rf"|\b{_COUNT.replace('?P<n>', '?P<n2>').replace('?P<half>', '?P<half2>')} "
    rf"{_UNIT.replace('?P<unit>', '?P<unit2>')} from now\b"
)
_PRECHECK = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun|morning|afternoon|evening|night|tonight|lunch|noon"
    r"|midday|at|around|after|about|by|between|today|tomorrow|tmrw|in|from now|o'?clock"
    r"|half past|quarter|[0-9]+ ?[ap]\.? ?m|[0-9]{1,2}:[0-9]{2}|the [0-9]|[0-9]{1,2}/[0-9]"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|end of|first thing|day ?time|school"
    r"|work|next week)"
)
_TODAY_ONLY = re.compile(r"\b(?:this (?:morning|afternoon|evening)|tonight|later today|today)\b")
_TOMORROW = re.compile(r"\b(?:(?P<after>the day after tomorrow)|tomorrow|tmrw|tomorow)\b")
_WEEKDAY = re.compile(
    rf"\b(?:(?P<q>this coming|this|next|coming|on) )?{DAY.pattern[2:-2]}(?P<nw> next week)?\b"
    rf"|\bnext week (?:on )?{DAY.pattern[2:-2].replace('day>', 'day2>')}\b"
)
_DATE = re.compile(
    rf"\b{_MONTH} (?:the )?(?:[0-9]{{1,2}}(?:st|nd|rd|th)?\b|{ORDINAL})(?: [0-9]{{4}})?"
    rf"|\b(?:the )?{ORDINAL} of {_MONTH}"
    r"|\b[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?\b"
)
_DAY_OF_MONTH = re.compile(rf"\bthe (?P<ord>{ORDINAL})")
_CLOCK_PREP = re.compile(
    r"\b(?:at|around|about|after|by|say|like|for|until|till|between|from|maybe)"
    r"(?: like| about| around| maybe)? $"
)
_ORDINAL_WORDS = re.compile(rf"\b{ORDINAL}")
_DEFAULT_TIME = (10, 0)
_MAX_UNIT_COUNT = 1000


def _count(word: str, half: bool) -> float | None:
    word = word.removesuffix(" of")
    if word.startswith("half"):
        value: float | None = 0.5
    elif word in ("a", "an", "one"):
        value = 1
    elif word in ("a couple", "couple"):
        value = 2
    elif word in ("a few", "few"):
        value = 3
    else:
        number = to_int(word)
        value = float(number) if number is not None else None
    if value is None:
        return None
    return value + 0.5 if half else value


def _relative(norm: str) -> tuple[timedelta | None, re.Match[str] | None]:
    m = _RELATIVE.search(norm)
    if m is None:
        return None, None
    word = m.group("n") or m.group("n2")
    unit = (m.group("unit") or m.group("unit2"))[:2]
    value = _count(word, bool(m.group("half") or m.group("half2")))
    if value is None or not 0 < value <= _MAX_UNIT_COUNT:
        return None, m
    if unit == "mi":
        return timedelta(minutes=value), m
    if unit in ("ho", "hr"):
        return timedelta(hours=value), m
    if unit == "da":
        return timedelta(days=value), m
    return timedelta(weeks=value), m


def _dateparser_date(phrase: str, base: datetime) -> date | None:
    # Imported here: dateparser costs ~60 ms to import and is only needed for calendar dates.
    import dateparser

    settings: Any = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": base,
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first",
        "REQUIRE_PARTS": ["day", "month"],
    }
    phrase = _ORDINAL_WORDS.sub(lambda m: str(ordinal_to_int(m.group()) or m.group()), phrase)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:  # noqa: BLE001 - a third-party parser must not break a call turn
        return None
    return parsed.date() if parsed is not None else None


@functools.cache
def warm_up() -> None:
    """Load dateparser and its English data now, not in the middle of a caller's turn.

    The first parse in a process costs 100-150 ms; call this once before the first call.
    """
    _dateparser_date("december 3", datetime(2026, 1, 1))


def _first(pattern: re.Pattern[str], norm: str) -> re.Match[str] | None:
    """The first match that is not negated: "not tomorrow, Friday" names Friday."""
    return next((m for m in pattern.finditer(norm) if not negated(norm, m.start())), None)


def _day_of_month(day: int, today: date) -> date | None:
    for months_ahead in range(3):
        month_index = today.month - 1 + months_ahead
        year, month = today.year + month_index // 12, month_index % 12 + 1
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _find_clock(norm: str, spans: list[tuple[int, int]], anchors: list[int]) -> Clock | None:
    for m in CLOCK.finditer(norm):
        if any(s <= m.start() < e for s, e in spans):
            continue
        clock = clock_of(m)
        if clock is None or not_a_time(norm, clock) or negated(norm, clock.start):
            continue
        before = norm[max(0, clock.start - 16) : clock.start]
        # A bare number is a time only after "at"/"around" or right after a day or part of day.
        if clock.explicit or _CLOCK_PREP.search(before) or clock.start in anchors:
            return clock
    return None


def _at(day: date, hour: int, minute: int, now: datetime) -> datetime:
    return datetime.combine(day, time(hour % 24, minute), tzinfo=now.tzinfo)


def moment(text: str, *, now: datetime) -> datetime | None:
    """The one future moment an utterance names, for a callback or an appointment.

    Args:
        text: The caller's utterance, e.g. "call me tomorrow at 3".
        now: The current local time (aware); results are in its time zone.

    Returns:
        A time strictly after `now`; bare hours 1-7 are read as afternoon, a part of the day as
        its usual hour (morning 9:00, afternoon 14:00, evening 18:00, tonight 19:00). None when
        no time is named or it cannot be placed in the future.
    """
    norm = normalize(text)
    if not norm or not _PRECHECK.search(norm):
        return None
    delta, rel = _relative(norm)
    if delta is not None and delta < timedelta(days=1):
        # Elapsed time, not wall time: "in an hour" across a DST change is still an hour.
        if now.tzinfo is None:
            return now + delta
        return (now.astimezone(UTC) + delta).astimezone(now.tzinfo)
    today = now.date()
    spans: list[tuple[int, int]] = [(rel.start(), rel.end())] if rel else []
    anchors: list[int] = []
    day: date | None = None
    kind = ""  # what fixed the day: "relative", "date", "weekday", "tomorrow", "today"
    if delta is not None:
        day, kind = (now + delta).date(), "relative"
    if day is None and (m := _DATE.search(norm)):
        day = _dateparser_date(m.group(), now.replace(tzinfo=None))
        if day is not None:
            kind = "date"
            spans.append((m.start(), m.end()))
            anchors.append(m.end() + 1)
    if day is None and (m := _DAY_OF_MONTH.search(norm)):
        value = ordinal_to_int(m.group("ord"))
        day = _day_of_month(value, today) if value else None
        if day is not None:
            kind = "date"
            spans.append((m.start(), m.end()))
            anchors.append(m.end() + 1)
    if day is None and (m := _first(_TOMORROW, norm)):
        day, kind = today + timedelta(days=2 if m.group("after") else 1), "tomorrow"
        anchors.append(m.end() + 1)
    if day is None and (m := _first(_WEEKDAY, norm)):
        if m.group("day2") or m.group("nw"):
            index = day_index(m.group("day2") or m.group("day"))
            day = today - timedelta(days=today.weekday()) + timedelta(days=7 + index)
        else:
            ahead = (day_index(m.group("day")) - today.weekday()) % 7
            if ahead == 0 and m.group("q") not in ("this",):
                ahead = 7  # "Tuesday" said on a Tuesday means next week's
            day = today + timedelta(days=ahead)
        kind = "weekday"
        anchors.append(m.end() + 1)
    today_only = _first(_TODAY_ONLY, norm)
    if day is None and today_only:
        day, kind = today, "today"

    part: PartOfDay | None = None
    if pm := _first(PART, norm):
        part = part_of(pm)
        spans.append((pm.start(), pm.end()))
        anchors.append(pm.end() + 1)
    hint: Meridiem | None = part.meridiem if part else None
    clock = _find_clock(norm, spans, anchors)

    if clock is not None:
        hour, minute = clock.hour24(hint), clock.minute
    elif part is not None:
        hour, minute = part.default
    elif kind in ("date", "weekday", "tomorrow"):
        hour, minute = _DEFAULT_TIME
    elif kind == "relative":
        hour, minute = now.hour, now.minute
    else:
        return None

    if day is None:
        result = _at(today, hour, minute, now)
        return result if result > now else _at(today + timedelta(days=1), hour, minute, now)
    result = _at(day, hour, minute, now)
    if result > now:
        return result
    if kind == "weekday":
        return _at(day + timedelta(days=7), hour, minute, now)
    if kind == "today" and clock is None and part is not None:
        # "this afternoon" at 3 pm: the next full hour, while the afternoon lasts.
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if next_hour.date() == today and next_hour.hour < part.end:
            return next_hour
    return None
