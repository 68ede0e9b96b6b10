"""availability: weekdays and day windows, exclusions, and utterances that are not about time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dentalvoice.conversation.nlu import availability

NOW = datetime(2026, 11, 24, 10, 15, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

CASES = [
    ("Tuesday afternoons", ["tue"], [("12:00", "17:00")]),
    ("Saturday mornings", ["sat"], [("08:00", "12:00")]),
    ("after 3 on weekdays", WEEKDAYS, [("15:00", "18:00")]),
    ("weekends", ["sat", "sun"], []),
    ("between 11 and 1", [], [("11:00", "13:00")]),
    ("evenings", [], [("17:00", "20:00")]),
    ("anytime", [], []),
    ("I'm flexible", [], []),
    ("whenever works for you", [], []),
    ("next week during lunch", [], [("11:00", "13:00")]),
    ("tomorrow afternoon", ["wed"], [("12:00", "17:00")]),
    ("from 9 to 11am", [], [("09:00", "11:00")]),
    ("between 2 and 4pm", [], [("14:00", "16:00")]),
    ("10am or 2pm", [], [("10:00", "11:00"), ("14:00", "15:00")]),
    ("monday through thursday", ["mon", "tue", "wed", "thu"], []),
    ("Tuesday or Thursday mornings around 10", ["tue", "thu"], [("10:00", "11:00")]),
    ("mondays and wednesdays after 5", ["mon", "wed"], [("17:00", "20:00")]),
    ("friday at 4:30", ["fri"], [("16:30", "17:30")]),
    ("before 10", [], [("08:00", "10:00")]),
    ("after work", [], [("17:00", "20:00")]),
    # Exclusions.
    ("weekdays except friday", ["mon", "tue", "wed", "thu"], []),
    ("not mornings", [], [("12:00", "17:00"), ("17:00", "20:00")]),
    ("I can't do mornings", [], [("12:00", "17:00"), ("17:00", "20:00")]),
    ("anything but mornings", [], [("12:00", "17:00"), ("17:00", "20:00")]),
    ("I work weekdays", ["sat", "sun"], []),
    ("mondays are bad", ["tue", "wed", "thu", "fri", "sat", "sun"], []),
    ("any day but monday", ["tue", "wed", "thu", "fri", "sat", "sun"], []),
    ("I work until 5", [], [("17:00", "20:00")]),
    ("not before 10", [], [("10:00", "18:00")]),
    ("it hurts, can I come tuesday afternoon", ["tue"], [("12:00", "17:00")]),
    ("call me at 5. Tuesdays work", ["tue"], []),
]


@pytest.mark.parametrize(("text", "days", "windows"), CASES)
def test_availability(text: str, days: list[str], windows: list[tuple[str, str]]) -> None:
    found = availability(text, now=NOW)
    assert found is not None
    assert [d.value for d in found.days] == days
    assert [(w.start, w.end) for w in found.windows] == windows
    assert found.raw == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "yes",
        "about two years ago",
        "a six or seven",
        "7 out of 10",
        "I have Delta Dental",
        "last year",
        "in march",
        "it started hurting on monday",
        "call me at 5",
        "call me back tomorrow afternoon",
        "I live at 5 main street",
        "it's been hurting for 2 weeks",
        "the pain is like 8 and it keeps me up at night",
        "I broke my tooth on Saturday",
        "",
    ],
)
def test_not_about_availability(text: str) -> None:
    assert availability(text, now=NOW) is None


def test_today_follows_the_clinic_clock() -> None:
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("America/Toronto"))
    found = availability("today or tomorrow", now=saturday)
    assert found is not None
    assert [d.value for d in found.days] == ["sat", "sun"]
