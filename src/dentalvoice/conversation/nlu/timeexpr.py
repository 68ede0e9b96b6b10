"""Building blocks for spoken times: weekdays, parts of the day and clock times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dentalvoice.conversation.nlu._text import words
from dentalvoice.conversation.nlu.numbers import to_int
from dentalvoice.conversation.qualification import Weekday

Meridiem = Literal["am", "pm"]

WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)
DAY = re.compile(
    r"\b(?P<day>monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|saturday|sunday)s?\b"
)
_DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def day_index(word: str) -> int:
    """Monday-based index of a weekday name matched by `DAY`.

    Args:
        word: "tuesday", "tues", "thursdays"...

    Returns:
        0 for Monday through 6 for Sunday.
    """
    return _DAY_INDEX[word[:3]]


@dataclass(frozen=True, slots=True)
class PartOfDay:
    """A named part of the day: its window and the time a callback in it would default to."""

    start: int
    end: int
    default: tuple[int, int]
    meridiem: Meridiem | None


_PART_TABLE: list[tuple[str, PartOfDay]] = [
    (r"early (?:in the )?mornings?", PartOfDay(7, 9, (8, 0), "am")),
    (r"first thing(?: in the morning)?", PartOfDay(8, 10, (8, 30), "am")),
    (r"late mornings?", PartOfDay(10, 12, (11, 0), "am")),
    (r"mornings?", PartOfDay(8, 12, (9, 0), "am")),
    (r"lunch ?time|lunch ?hour|lunch|noon ?time|midday|mid day", PartOfDay(11, 13, (12, 0), "pm")),
    (r"early afternoons?", PartOfDay(12, 14, (13, 0), "pm")),
    (r"late afternoons?", PartOfDay(15, 17, (16, 0), "pm")),
    (r"afternoons?|after noon", PartOfDay(12, 17, (14, 0), "pm")),
    (r"after school", PartOfDay(15, 18, (15, 30), "pm")),
    (r"after work", PartOfDay(17, 20, (17, 30), "pm")),
    (r"before work", PartOfDay(7, 9, (8, 0), "am")),
    (r"end of (?:the )?day", PartOfDay(16, 18, (16, 30), "pm")),
    (r"early evenings?", PartOfDay(17, 19, (17, 0), "pm")),
    (r"tonight|at night|nights?", PartOfDay(17, 20, (19, 0), "pm")),
    (r"evenings?", PartOfDay(17, 20, (18, 0), "pm")),
    (r"during the day|day ?time", PartOfDay(8, 17, (10, 0), None)),
]
_PART_GROUPS = {f"p{i}": part for i, (_, part) in enumerate(_PART_TABLE)}
PART = re.compile("|".join(rf"(?P<p{i}>\b(?:{p})\b)" for i, (p, _) in enumerate(_PART_TABLE)))


def part_of(m: re.Match[str]) -> PartOfDay:
    """The `PartOfDay` a `PART` match names.

    Args:
        m: A match of `PART`.

    Returns:
        Its table entry.
    """
    return _PART_GROUPS[m.lastgroup or ""]


_HOUR_WORDS = words("one two three four five six seven eight nine ten eleven twelve")
_HOUR = r"(?:1[0-2]|0?[1-9]|" + "|".join(sorted(_HOUR_WORDS, key=len, reverse=True)) + r")"
_MINUTE_WORDS = {"fifteen": 15, "thirty": 30, "forty five": 45, "forty-five": 45, "oh five": 5,
                 "o five": 5, "ten": 10, "twenty": 20, "forty": 40, "fifty": 50}  # fmt: skip
_MERIDIEM = r"(?P<ap>[ap])\.? ?m\b\.?"
CLOCK = re.compile(
    rf"\b(?:(?P<frac>half past|quarter past|quarter after|quarter to|quarter till|quarter of) )?"
    rf"(?P<h>{_HOUR})(?![0-9])"
    r"(?:(?::|\.)(?P<m>[0-5][0-9])|(?! (?:or|to|and)\b) (?P<mw>[0-5][0-9]|fifteen|thirty"
    r"|forty[- ]five|oh five|o five)(?= |$|[ap]\.? ?m\b|[.,?!]))?"
    rf"(?: ?{_MERIDIEM}| (?P<oc>o'?clock)| in the (?P<mp>morning|afternoon|evening)"
    r"| at (?P<night>night))?"
    r"|\b(?P<noon>noon|midday)\b"
)


@dataclass(frozen=True, slots=True)
class Clock:
    """A clock time as said: hour 1-12 (or 12 for noon), minutes, and any meridiem heard."""

    hour: int
    minute: int
    meridiem: Meridiem | None
    explicit: bool  # am/pm, o'clock or H:MM was said, so this is surely a time
    start: int
    end: int

    def hour24(self, hint: Meridiem | None = None) -> int:
        """The hour on a 24-hour clock.

        Args:
            hint: The meridiem implied by context ("tomorrow evening at 8").

        Returns:
            0-23; without am/pm or a hint, 1-7 read as afternoon and 8-11 as morning.
        """
        meridiem = self.meridiem or hint
        if meridiem == "am":
            return self.hour % 12 if self.hour != 12 or self.meridiem == "am" else 12
        if meridiem == "pm":
            return self.hour % 12 + 12
        return self.hour + 12 if 1 <= self.hour <= 7 else self.hour


def clock_of(m: re.Match[str]) -> Clock | None:
    """Read a `CLOCK` match.

    Args:
        m: A match of `CLOCK`.

    Returns:
        The clock time, or None for impossible values.
    """
    if m.group("noon"):
        return Clock(12, 0, "pm", True, m.start(), m.end())
    hour = to_int(m.group("h"))
    if hour is None or not 1 <= hour <= 12:
        return None
    minute = 0
    if m.group("m"):
        minute = int(m.group("m"))
    elif m.group("mw"):
        word = m.group("mw")
        minute = int(word) if word.isdigit() else _MINUTE_WORDS.get(word, 0)
    frac = m.group("frac")
    if frac:
        if frac == "half past":
            minute = 30
        elif frac in ("quarter past", "quarter after"):
            minute = 15
        else:
            minute = 45
            hour = 12 if hour == 1 else hour - 1
    meridiem: Meridiem | None = None
    if m.group("ap"):
        meridiem = "am" if m.group("ap") == "a" else "pm"
    elif m.group("mp"):
        meridiem = "am" if m.group("mp") == "morning" else "pm"
    elif m.group("night"):
        meridiem = "pm"
    explicit = bool(meridiem or m.group("oc") or m.group("m") or frac)
    return Clock(hour, minute, meridiem, explicit, m.start(), m.end())


def hhmm(minutes: int) -> str:
    """Format minutes since midnight as "HH:MM" (24:00 allowed for the end of day).

    Args:
        minutes: 0 to 1440.

    Returns:
        The formatted time.
    """
    minutes = max(0, min(minutes, 24 * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_COUNT_AFTER = re.compile(
    r" ?(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|year olds?|times?)\b"
)
_ADDRESS_AFTER = re.compile(
    r" (?:[a-z]+ ){0,2}(?:street|st|avenue|ave|road|rd|drive|boulevard|blvd|lane|ln|way|court"
    r"|ct|crescent|place|highway|hwy)\b"
)


def not_a_time(norm: str, clock: Clock) -> bool:
    """Whether a clock-shaped number is really a count or an address.

    Args:
        norm: The normalised text the clock was found in.
        clock: The candidate.

    Returns:
        True for "5 minutes", "2 years" or "at 5 main street".
    """
    if _COUNT_AFTER.match(norm, clock.end):
        return True
    return not clock.explicit and _ADDRESS_AFTER.match(norm, clock.end) is not None
