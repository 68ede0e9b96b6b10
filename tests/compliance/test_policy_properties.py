"""Property tests of the gate against a brute-force oracle written in this file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dentalvoice.compliance.facts import (
    ClinicPolicy,
    ConsentFacts,
    Decision,
    LeadFacts,
    RegistryFacts,
)
from dentalvoice.compliance.models import DecisionKind
from dentalvoice.compliance.policy import decide
from dentalvoice.compliance.rules_model import default_rules

# Area code -> (the jurisdiction it presumes, zones the number must at least bring).
AREA_CODES: dict[str, tuple[str | None, set[str]]] = {
    "208": ("US-ID", {"America/Boise", "America/Los_Angeles"}),
    "219": ("US-IN", {"America/New_York", "America/Chicago"}),
    "305": ("US-FL", {"America/New_York"}),
    "850": ("US-FL", {"America/New_York", "America/Chicago"}),
    "404": ("US-GA", {"America/New_York"}),
    "212": ("US-NY", {"America/New_York"}),
    "213": ("US-CA", {"America/Los_Angeles"}),
    "214": ("US-TX", {"America/Chicago"}),
    "915": ("US-TX", {"America/Denver"}),
    "205": ("US-AL", {"America/Chicago"}),
    "401": ("US-RI", {"America/New_York"}),
    "605": ("US-SD", {"America/Chicago", "America/Denver"}),
    "701": ("US-ND", {"America/Chicago", "America/Denver"}),
    "270": ("US-KY", {"America/New_York", "America/Chicago"}),
    "423": ("US-TN", {"America/New_York", "America/Chicago"}),
    "541": ("US-OR", {"America/Los_Angeles", "America/Denver"}),
    "906": ("US-MI", {"America/New_York", "America/Chicago"}),
    "907": ("US-AK", {"America/Anchorage"}),
    "808": ("US-HI", {"Pacific/Honolulu"}),
    "928": ("US-AZ", {"America/Phoenix"}),
    "405": ("US-OK", {"America/Chicago"}),
    "207": ("US-ME", {"America/New_York"}),
    "215": ("US-PA", {"America/New_York"}),
    "801": ("US-UT", {"America/Denver"}),
    "601": ("US-MS", {"America/Chicago"}),
    "416": ("CA-ON", {"America/Toronto"}),
    "807": ("CA-ON", {"America/Toronto", "America/Winnipeg"}),
    "604": ("CA-BC", {"America/Vancouver"}),
    "250": ("CA-BC", {"America/Vancouver", "America/Edmonton"}),
    "204": ("CA-MB", {"America/Winnipeg"}),
    "800": (None, set()),  # toll-free
}
ADDRESSES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("GA", "30301"),
    ("FL", "32501"),
    ("FL", None),
    ("ID", "83814"),
    ("IN", "46320"),
    ("TX", "79901"),
    ("TX", None),
    ("AL", None),
    ("PA", "19103"),
    ("UT", None),
    ("SD", "57701"),
    ("RI", None),
    ("CA", "90001"),
    ("NY", None),
    ("ON", "P9N 1A1"),
    ("BC", None),
]
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Indiana/Indianapolis",
]
SPECIAL_DAYS = [
    date(2026, 3, 8),  # US spring forward
    date(2026, 11, 1),  # US fall back
    date(2026, 11, 26),  # Thanksgiving
    date(2026, 12, 25),
    date(2026, 7, 3),  # Independence Day observed
    date(2026, 11, 27),  # PA's day after Thanksgiving
    date(2026, 12, 28),  # Ontario's Boxing Day observed
]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CAPS = {24: "max_attempts_24h", 336: "max_attempts_14d"}


# ---------- oracle


@cache
def _holiday_set(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


def _minute_of_day(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60


def _inside(local: datetime, windows: Sequence[tuple[int, int]]) -> bool:
    minute = _minute_of_day(local)
    return any(start <= minute < end for start, end in windows)


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _count(attempts: Sequence[datetime], t: datetime, hours: int) -> int:
    return sum(1 for a in attempts if a <= t < a + timedelta(hours=hours))


def oracle_allows(lead: LeadFacts, clinic: ClinicPolicy, decision: Decision, t: datetime) -> bool:
    """Whether `t` is lawful for this lead, checked directly on local clocks."""
    rules = default_rules()
    zones = [ZoneInfo(z) for z in decision.zones]
    for key in decision.states:
        jurisdiction = rules.jurisdictions[key]
        for row in jurisdiction.hours:
            for zone in [*zones, *(ZoneInfo(z) for z in row.also_in_zones)]:
                local = t.astimezone(zone)
                if not _inside(local, row.days[local.weekday()]):
                    return False
        for hol in jurisdiction.holidays:
            for zone in zones:
                local_day = t.astimezone(zone).date()
                if local_day in _holiday_set(hol.country, hol.subdiv, local_day.year):
                    return False
        for cap in jurisdiction.attempt_caps:
            if _count(lead.attempts, t, cap.window_hours) >= cap.max_attempts:
                return False
    calendars: list[tuple[str, str | None]] = []
    if "US" in decision.states:
        calendars.append(("US", None))
    if "CA" in decision.states:
        provinces: list[str | None] = [s[3:] for s in decision.states if s.startswith("CA-")]
        calendars.extend(("CA", p) for p in provinces or [None])
    for country, subdiv in calendars:
        for zone in zones:
            local_day = t.astimezone(zone).date()
            if local_day in _holiday_set(country, subdiv, local_day.year):
                return False
    for hours, maximum in ((24, 3), (336, 8)):
        tighter = getattr(clinic, CAPS[hours])
        limit = maximum if tighter is None else min(maximum, tighter)
        if _count(lead.attempts, t, hours) >= limit:
            return False
    if clinic.business_hours:
        local = t.astimezone(ZoneInfo(clinic.timezone))
        today = clinic.business_hours.get(WEEKDAYS[local.weekday()], ())
        if not _inside(local, [(_clock(a), _clock(b)) for a, b in today]):
            return False
    return True


# ---------- inputs


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    if draw(st.booleans()):
        day = draw(st.sampled_from(SPECIAL_DAYS))
        base = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=12)
        return base + timedelta(minutes=draw(st.integers(0, 36 * 60)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=draw(st.integers(0, 365 * 86_400)))


@st.composite
def business_hours(draw: st.DrawFn) -> Mapping[str, Sequence[tuple[str, str]]]:
    if draw(st.integers(0, 3)) == 0:
        return {}
    hours: dict[str, list[tuple[str, str]]] = {}
    for day in WEEKDAYS:
        if draw(st.integers(0, 4)) == 0:
            continue
        start = draw(st.integers(5 * 60, 12 * 60))
        end = draw(st.integers(start + 30, 23 * 60))
        windows = [(start, end)]
        if draw(st.booleans()) and end - start > 120:
            gap = start + (end - start) // 2
            windows = [(start, gap - 30), (gap, end)]
        hours[day] = [
            (f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}") for a, b in windows
        ]
    return hours


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[LeadFacts, ClinicPolicy, datetime]:
    at = draw(moments())
    npa = draw(st.sampled_from(sorted(AREA_CODES)))
    phone = f"+1{npa}55501{draw(st.integers(0, 99)):02d}"
    state, postal = draw(st.sampled_from(ADDRESSES))
    explicit = draw(st.one_of(st.none(), st.sampled_from(ZONES)))
    attempts = sorted(
        at - timedelta(minutes=m) for m in draw(st.lists(st.integers(1, 20 * 1440), max_size=10))
    )
    listed = draw(st.integers(0, 3)) == 0
    inquiry_days = draw(st.one_of(st.none(), st.integers(0, 120)))
    inquiry = None if inquiry_days is None else at - timedelta(days=inquiry_days, hours=3)
    data_age = draw(st.integers(0, 31))
    lead = LeadFacts(
        phone_e164=phone,
        explicit_timezone=explicit,
        state=state,
        postal_code=postal,
        registry=RegistryFacts(listed=listed, data_date=at.date() - timedelta(days=data_age)),
        inquiry_at=inquiry,
        consent=ConsentFacts(has_evidence=True),
        attempts=attempts,
    )
    clinic = ClinicPolicy(
        timezone=draw(st.sampled_from(ZONES)),
        business_hours=draw(business_hours()),
        max_attempts_24h=draw(st.one_of(st.none(), st.integers(1, 5))),
        max_attempts_14d=draw(st.one_of(st.none(), st.integers(1, 12))),
    )
    return lead, clinic, at


# ---------- properties


def _check_candidates(lead: LeadFacts, decision: Decision) -> None:
    presumed, zones = AREA_CODES[lead.phone_e164[2:5]]
    assert zones <= set(decision.zones)
    if presumed is not None:
        assert presumed in decision.states and presumed[:2] in decision.states
    if lead.explicit_timezone is not None:
        assert decision.zones[0] == lead.explicit_timezone


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_decisions_agree_with_the_oracle(
    scenario: tuple[LeadFacts, ClinicPolicy, datetime], data: st.DataObject
) -> None:
    lead, clinic, at = scenario
    decision = decide(lead, clinic, at)
    if decision.kind is DecisionKind.BLOCK:
        if decision.reasons[0] == "no_lawful_window":
            horizon = default_rules().defaults.search_horizon_days * 86_400
            for seconds in data.draw(st.lists(st.integers(0, horizon), min_size=5, max_size=5)):
                assert not oracle_allows(lead, clinic, decision, at + timedelta(seconds=seconds))
        return
    _check_candidates(lead, decision)
    if decision.kind is DecisionKind.ALLOW:
        assert decision.not_before is None
        assert oracle_allows(lead, clinic, decision, at)
        return
    not_before = decision.not_before
    assert not_before is not None and not_before.tzinfo is UTC
    assert not_before > at
    assert not oracle_allows(lead, clinic, decision, at)
    assert oracle_allows(lead, clinic, decision, not_before)
    again = decide(lead, clinic, not_before)
    assert again.kind is DecisionKind.ALLOW, again
    # no earlier moment is lawful: just before it, and a spread of moments in between
    gap = not_before - at
    samples = [not_before - timedelta(microseconds=1)]
    if gap > timedelta(minutes=1):
        samples.append(not_before - timedelta(minutes=1))
    fractions = data.draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=6, max_size=6))
    samples.extend(at + gap * f for f in fractions)
    for moment in (m for m in samples if m < not_before):  # a fraction may round up to it
        assert not oracle_allows(lead, clinic, decision, moment), moment
    assert decide(lead, clinic, samples[0]).kind is not DecisionKind.ALLOW


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_hard_blocks_do_not_depend_on_the_clock(
    scenario: tuple[LeadFacts, ClinicPolicy, datetime],
) -> None:
    lead, clinic, at = scenario
    blocked = LeadFacts(**{**_fields(lead), "dnd_call": True})
    decision = decide(blocked, clinic, at)
    assert decision.kind is DecisionKind.BLOCK
    assert decision.reasons[0] == "ghl_dnd"
    assert decision.not_before is None


def _fields(lead: LeadFacts) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in LeadFacts.__slots__}
