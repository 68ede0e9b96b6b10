"""moment: one future time relative to a fixed now (Tuesday 2026-11-24 10:15, New York)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.conversation.nlu import moment

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 10, 15, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


CASES = [
    ("call me at 5", at(24, 17)),
    ("can you call back at 9", at(25, 9)),
    ("tomorrow at 3pm", at(25, 15)),
    ("tomorrow at 3", at(25, 15)),
    ("tomorrow morning at 10", at(25, 10)),
    ("tomorrow evening at 8", at(25, 20)),
    ("noon tomorrow", at(25, 12)),
    ("tomorrow", at(25, 10)),
    ("the day after tomorrow at 11", at(26, 11)),
    ("next Tuesday afternoon", at(1, 14, month=12)),
    ("tuesday at 2", at(1, 14, month=12)),
    ("Friday morning", at(27, 9)),
    ("around 4 on friday", at(27, 16)),
    ("Tuesday next week", at(1, 10, month=12)),
    ("next week Thursday at 11", at(3, 11, month=12)),
    ("in an hour", at(24, 11, 15)),
    ("in 30 minutes", at(24, 10, 45)),
    ("in half an hour", at(24, 10, 45)),
    ("in a couple of hours", at(24, 12, 15)),
    ("in 2 days", at(26, 10, 15)),
    ("a week from now", at(1, 10, 15, month=12)),
    ("tonight", at(24, 19)),
    ("tonight at 8", at(24, 20)),
    ("this afternoon", at(24, 14)),
    ("this morning", at(24, 11)),
    ("5:30", at(24, 17, 30)),
    ("half past four", at(24, 16, 30)),
    ("quarter to five", at(24, 16, 45)),
    ("december 3rd at 2pm", at(3, 14, month=12)),
    ("12/3 at 9am", at(3, 9, month=12)),
    ("on the 30th at 10", at(30, 10)),
    ("the 3rd", at(3, 10, month=12)),
    ("between 3 and 5 tomorrow", at(25, 15)),
    ("after work", at(24, 17, 30)),
    ("call me back around seven thirty", at(24, 19, 30)),
    ("sometime tomorrow afternoon maybe around 3 30", at(25, 15, 30)),
    ("tomorrow at like 4ish", at(25, 16)),
    ("at 11 am", at(24, 11)),
    ("5 p.m.", at(24, 17)),
    ("in 3 hours", at(24, 13, 15)),
    ("in a week or two", at(1, 10, 15, month=12)),
    ("march 3rd", datetime(2027, 3, 3, 10, 0, tzinfo=TZ)),
    ("not tomorrow, friday", at(27, 10)),
    ("not at 5, at 6", at(24, 18)),
    ("at 5 pm on main street", at(24, 17)),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_moment(text: str, expected: datetime) -> None:
    found = moment(text, now=NOW)
    assert found == expected
    assert found is not None and found.tzinfo is TZ and found > NOW


@pytest.mark.parametrize(
    "text",
    ["hello", "no time", "today", "about two years ago", "a six or seven", "it hurts like a 7",
     "later", "yes", "in a bit", "", "I live at 5 main street", "no not tomorrow",
     "call me at 555 867 5309", "my son is 7", "two weeks ago", "next week"],
)  # fmt: skip
def test_no_moment(text: str) -> None:
    assert moment(text, now=NOW) is None


def test_evening_now_pushes_bare_hours_to_tomorrow() -> None:
    evening = datetime(2026, 11, 24, 18, 30, tzinfo=TZ)
    assert moment("at 5", now=evening) == at(25, 17)
    assert moment("tonight", now=evening) == at(24, 19)
    late = datetime(2026, 11, 24, 21, 30, tzinfo=TZ)
    assert moment("this afternoon", now=late) is None


def test_relative_time_is_elapsed_across_dst() -> None:
    before_change = datetime(2026, 11, 1, 1, 30, tzinfo=TZ, fold=0)
    found = moment("in an hour", now=before_change)
    assert found is not None
    # Same-zone subtraction ignores fold, so measure the elapsed time in UTC.
    assert found.astimezone(UTC) - before_change.astimezone(UTC) == timedelta(hours=1)
    assert found.utcoffset() == timedelta(hours=-5)


def test_results_use_the_callers_zone() -> None:
    toronto = ZoneInfo("America/Toronto")
    found = moment("tomorrow at 3pm", now=datetime(2026, 6, 1, 9, 0, tzinfo=toronto))
    assert found == datetime(2026, 6, 2, 15, 0, tzinfo=toronto)
