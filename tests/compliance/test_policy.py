"""Table tests of the compliance gate's decisions, rule by rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from dentalvoice.compliance import policy
from dentalvoice.compliance.facts import (
    ClinicPolicy,
    ConsentFacts,
    Decision,
    LeadFacts,
    RegistryFacts,
)
from dentalvoice.compliance.models import DecisionKind
from dentalvoice.compliance.policy import decide, earliest_allowed
from dentalvoice.compliance.rules_model import Rules, default_rules, load_rules

ET = ZoneInfo("America/New_York")
CT = ZoneInfo("America/Chicago")
MT = ZoneInfo("America/Denver")
PT = ZoneInfo("America/Los_Angeles")
ALLOW, DEFER, BLOCK = DecisionKind.ALLOW, DecisionKind.DEFER, DecisionKind.BLOCK

GA = "+14045550101"  # Georgia: federal hours only
FL = "+13055550102"
FL_PANHANDLE = "+18505550103"
AL = "+12055550104"
TX = "+12145550105"
MS = "+16015550106"
SD = "+16055550107"
RI = "+14015550108"
PA = "+12155550109"
CA = "+14155550110"  # California
ME = "+12075550111"
IDAHO = "+12085550123"
INDIANA = "+12195550123"
TORONTO = "+14165550112"
TOLL_FREE = "+18005550113"
NO_CLINIC_LIMIT = ClinicPolicy(timezone="America/New_York")


def lead(phone: str, at: datetime, **overrides: Any) -> LeadFacts:
    """A lead that passes every hard block unless told otherwise."""
    fields: dict[str, Any] = {
        "phone_e164": phone,
        "consent": ConsentFacts(has_evidence=True),
        "registry": RegistryFacts(listed=False, data_date=at.astimezone(UTC).date()),
    }
    fields.update(overrides)
    return LeadFacts(**fields)


def check(
    phone: str,
    at: datetime,
    *,
    clinic: ClinicPolicy = NO_CLINIC_LIMIT,
    rules: Rules | None = None,
    **overrides: Any,
) -> Decision:
    return decide(lead(phone, at, **overrides), clinic, at, rules=rules)


def patched_rules(jurisdiction: str, rule_id: str, **changes: Any) -> Rules:
    """The shipped rules with one row changed, as counsel would edit the YAML."""
    from importlib import resources

    folder = resources.files("dentalvoice.compliance.rules")
    body = yaml.safe_load(folder.joinpath("rules.yaml").read_text("utf-8"))
    for row in body["jurisdictions"][jurisdiction]["rules"]:
        if row["id"] == rule_id:
            row.update(changes)
    body["zones"] = yaml.safe_load(folder.joinpath("zones.yaml").read_text("utf-8"))
    body["area_codes"] = yaml.safe_load(folder.joinpath("area_codes.yaml").read_text("utf-8"))
    return Rules.model_validate(body)


def blocking(decision: Decision) -> list[str]:
    return [r for r in decision.reasons if not r.startswith("note:")]


# ---------- hours

TUESDAY = date(2026, 11, 17)


@pytest.mark.parametrize(
    ("phone", "zone", "clock", "kind", "not_before"),
    [
        # federal 08:00-21:00 (Georgia adds nothing)
        (GA, ET, (7, 59), DEFER, datetime(2026, 11, 17, 8, 0, tzinfo=ET)),
        (GA, ET, (8, 0), ALLOW, None),
        (GA, ET, (20, 59), ALLOW, None),
        (GA, ET, (21, 0), DEFER, datetime(2026, 11, 18, 8, 0, tzinfo=ET)),
        # Florida 08:00-20:00
        (FL, ET, (19, 59), ALLOW, None),
        (FL, ET, (20, 0), DEFER, datetime(2026, 11, 18, 8, 0, tzinfo=ET)),
        # Texas 09:00-21:00 on weekdays
        (TX, CT, (8, 59), DEFER, datetime(2026, 11, 17, 9, 0, tzinfo=CT)),
        (TX, CT, (9, 0), ALLOW, None),
        # Rhode Island 09:00-18:00 on weekdays
        (RI, ET, (17, 59), ALLOW, None),
        (RI, ET, (18, 0), DEFER, datetime(2026, 11, 18, 9, 0, tzinfo=ET)),
        # the Florida panhandle number spans Central and Eastern: 08:00 CT is 09:00 ET
        (FL_PANHANDLE, ET, (8, 30), DEFER, datetime(2026, 11, 17, 9, 0, tzinfo=ET)),
        (FL_PANHANDLE, ET, (19, 59), ALLOW, None),
    ],
)
def test_hours_edges(
    phone: str,
    zone: ZoneInfo,
    clock: tuple[int, int],
    kind: DecisionKind,
    not_before: datetime | None,
) -> None:
    at = datetime(TUESDAY.year, TUESDAY.month, TUESDAY.day, *clock, tzinfo=zone)
    decision = check(phone, at)
    assert decision.kind is kind, decision
    assert decision.not_before == (not_before.astimezone(UTC) if not_before else None)
    if kind is DEFER:
        assert decision.not_before is not None and decision.not_before.tzinfo is UTC
        assert any(r.startswith("outside_hours:") for r in decision.reasons)


def test_defer_names_each_jurisdiction_that_blocks() -> None:
    decision = check(FL, datetime(2026, 11, 17, 7, 0, tzinfo=ET))
    assert blocking(decision) == ["outside_hours:US", "outside_hours:US-FL"]
    assert check(FL, datetime(2026, 11, 17, 20, 30, tzinfo=ET)).reasons[0] == "outside_hours:US-FL"


def test_conflicting_rows_apply_the_most_restrictive() -> None:
    # Oklahoma: 08:00-20:00 (telephone solicitation) and 09:00-21:00 (ADAD) -> 09:00-20:00.
    ok = "+14055550114"
    assert check(ok, datetime(2026, 11, 17, 8, 30, tzinfo=CT)).not_before == datetime(
        2026, 11, 17, 15, 0, tzinfo=UTC
    )
    assert check(ok, datetime(2026, 11, 17, 20, 0, tzinfo=CT)).kind is DEFER
    # Kentucky: 10:00-21:00 beats the 08:00-21:00 automated-equipment window.
    assert check("+15025550115", datetime(2026, 11, 17, 9, 59, tzinfo=ET)).kind is DEFER
    assert check("+15025550115", datetime(2026, 11, 17, 10, 0, tzinfo=ET)).kind is ALLOW


# ---------- DST


@pytest.mark.parametrize(
    ("at", "kind", "not_before"),
    [
        # 2026-03-08: clocks spring forward at 02:00 EST; the window opens at 08:00 EDT (12:00 UTC)
        (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), DEFER, datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        (datetime(2026, 3, 8, 7, 59, tzinfo=ET), DEFER, datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        (datetime(2026, 3, 8, 8, 0, tzinfo=ET), ALLOW, None),
        (datetime(2026, 3, 8, 20, 59, tzinfo=ET), ALLOW, None),
        (datetime(2026, 3, 8, 21, 0, tzinfo=ET), DEFER, datetime(2026, 3, 9, 12, 0, tzinfo=UTC)),
        # 2026-11-01: clocks fall back at 02:00 EDT; 08:00 EST is 13:00 UTC
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), DEFER, datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),
        (
            datetime(2026, 11, 1, 12, 59, tzinfo=UTC),
            DEFER,
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        ),
        (datetime(2026, 11, 1, 8, 0, tzinfo=ET), ALLOW, None),
        (datetime(2026, 11, 1, 20, 59, tzinfo=ET), ALLOW, None),
        (datetime(2026, 11, 1, 21, 0, tzinfo=ET), DEFER, datetime(2026, 11, 2, 13, 0, tzinfo=UTC)),
    ],
)
def test_dst_change_days(at: datetime, kind: DecisionKind, not_before: datetime | None) -> None:
    decision = check(GA, at)
    assert (decision.kind, decision.not_before) == (kind, not_before)


def test_mississippi_central_standard_time_reading() -> None:
    # With the artificial-voice ban lifted (as counsel could), the literal "Central Standard
    # Time" of 77-3-723 makes the summer window 09:00-20:00 CDT.
    rules = patched_rules("US-MS", "ms-artificial-voice-ban", active=False)
    summer = datetime(2026, 7, 14, 8, 30, tzinfo=CT)
    decision = check(MS, summer, rules=rules)
    assert decision.kind is DEFER
    assert decision.not_before == datetime(2026, 7, 14, 9, 0, tzinfo=CT)
    assert "outside_hours:US-MS" in decision.reasons
    winter = datetime(2026, 11, 17, 8, 0, tzinfo=CT)
    assert check(MS, winter, rules=rules).kind is ALLOW
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=CT)
    assert "sunday:US-MS" in check(MS, sunday, rules=rules).reasons


# ---------- days


@pytest.mark.parametrize(
    ("phone", "at", "reason", "not_before"),
    [
        # Alabama: no Sunday -> Monday 08:00 CT
        (
            AL,
            datetime(2026, 11, 22, 12, 0, tzinfo=CT),
            "sunday:US-AL",
            datetime(2026, 11, 23, 8, 0, tzinfo=CT),
        ),
        # Texas: Sunday from noon
        (
            TX,
            datetime(2026, 11, 22, 11, 59, tzinfo=CT),
            "outside_hours:US-TX",
            datetime(2026, 11, 22, 12, 0, tzinfo=CT),
        ),
        # South Dakota: weekdays only
        (
            SD,
            datetime(2026, 11, 21, 12, 0, tzinfo=CT),
            "saturday:US-SD",
            datetime(2026, 11, 23, 10, 0, tzinfo=CT),
        ),
        # Rhode Island: Saturday 10:00-17:00, no Sunday
        (
            RI,
            datetime(2026, 11, 21, 17, 0, tzinfo=ET),
            "outside_hours:US-RI",
            datetime(2026, 11, 23, 9, 0, tzinfo=ET),
        ),
        (
            RI,
            datetime(2026, 11, 22, 12, 0, tzinfo=ET),
            "sunday:US-RI",
            datetime(2026, 11, 23, 9, 0, tzinfo=ET),
        ),
        # Thanksgiving and Christmas (product default: US federal holidays)
        (
            GA,
            datetime(2026, 11, 26, 12, 0, tzinfo=ET),
            "holiday:US",
            datetime(2026, 11, 27, 8, 0, tzinfo=ET),
        ),
        (
            GA,
            datetime(2026, 12, 25, 9, 0, tzinfo=ET),
            "holiday:US",
            datetime(2026, 12, 26, 8, 0, tzinfo=ET),
        ),
        # Pennsylvania's own holidays include the day after Thanksgiving
        (
            PA,
            datetime(2026, 11, 27, 12, 0, tzinfo=ET),
            "holiday:US-PA",
            datetime(2026, 11, 28, 8, 0, tzinfo=ET),
        ),
        # Alabama bans state and federal holidays: Thanksgiving is both
        (
            AL,
            datetime(2026, 11, 26, 12, 0, tzinfo=CT),
            "holiday:US-AL",
            datetime(2026, 11, 27, 8, 0, tzinfo=CT),
        ),
        # observed Independence Day (Friday July 3, 2026)
        (
            GA,
            datetime(2026, 7, 3, 12, 0, tzinfo=ET),
            "holiday:US",
            datetime(2026, 7, 5, 8, 0, tzinfo=ET),
        ),
    ],
)
def test_banned_days_and_holidays(
    phone: str, at: datetime, reason: str, not_before: datetime
) -> None:
    decision = check(phone, at)
    assert decision.kind is DEFER, decision
    assert reason in decision.reasons
    assert decision.not_before == not_before.astimezone(UTC)


def test_sunday_is_fine_federally() -> None:
    assert check(GA, datetime(2026, 11, 22, 12, 0, tzinfo=ET)).kind is ALLOW


def test_holiday_is_the_called_partys_local_date() -> None:
    # 23:30 Thanksgiving in Hawaii is already Nov 27 in New York, but Hawaii's date governs
    # (and its window is closed anyway); 08:00 HST Nov 27 is allowed.
    hawaii = "+18085550116"
    at = datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))
    assert check(hawaii, at).kind is ALLOW
    on_holiday = datetime(2026, 11, 26, 18, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))
    assert "holiday:US" in check(hawaii, on_holiday).reasons


# ---------- zones


def test_idaho_208_needs_both_mountain_and_pacific() -> None:
    early = check(IDAHO, datetime(2026, 11, 17, 8, 30, tzinfo=MT))  # 07:30 in Pacific
    assert early.kind is DEFER
    assert early.not_before == datetime(2026, 11, 17, 8, 0, tzinfo=PT).astimezone(UTC)
    assert set(early.zones) >= {"America/Boise", "America/Los_Angeles"}
    assert early.states == ("US", "US-ID")
    late = check(IDAHO, datetime(2026, 11, 17, 21, 0, tzinfo=MT))  # 20:00 in Pacific
    assert late.kind is DEFER
    assert check(IDAHO, datetime(2026, 11, 17, 20, 59, tzinfo=MT)).kind is ALLOW


def test_indiana_219_needs_both_eastern_and_central() -> None:
    decision = check(INDIANA, datetime(2026, 11, 17, 8, 30, tzinfo=ET))  # 07:30 in Chicago
    assert decision.kind is DEFER
    assert decision.not_before == datetime(2026, 11, 17, 8, 0, tzinfo=CT).astimezone(UTC)
    assert {"America/New_York", "America/Chicago"} <= set(decision.zones)
    assert check(INDIANA, datetime(2026, 11, 17, 20, 59, tzinfo=CT)).kind is DEFER
    assert check(INDIANA, datetime(2026, 11, 17, 19, 59, tzinfo=CT)).kind is ALLOW


def test_florida_number_with_georgia_address_applies_both() -> None:
    at = datetime(2026, 11, 17, 20, 30, tzinfo=ET)  # lawful in GA, not under FL's 20:00
    decision = check(FL, at, state="GA", postal_code="30301")
    assert decision.states == ("US", "US-GA", "US-FL")
    assert decision.kind is DEFER
    assert blocking(decision) == ["outside_hours:US-FL"]
    # and the other way round: a Georgia number with a Florida address
    assert check(GA, at, state="FL").kind is DEFER


def test_address_zone_joins_the_phone_zone() -> None:
    # A New York number whose contact lives in California: both clocks must allow.
    at = datetime(2026, 11, 17, 10, 30, tzinfo=ET)  # 07:30 in California
    decision = check("+12125550117", at, state="CA", explicit_timezone="America/Los_Angeles")
    assert decision.zones[0] == "America/Los_Angeles"
    assert decision.not_before == datetime(2026, 11, 17, 8, 0, tzinfo=PT).astimezone(UTC)


def test_canada_weekday_and_weekend_hours() -> None:
    cases = [
        (datetime(2026, 11, 17, 8, 59, tzinfo=ET), DEFER),
        (datetime(2026, 11, 17, 9, 0, tzinfo=ET), ALLOW),
        (datetime(2026, 11, 17, 21, 29, tzinfo=ET), ALLOW),
        (datetime(2026, 11, 17, 21, 30, tzinfo=ET), DEFER),
        (datetime(2026, 11, 21, 9, 59, tzinfo=ET), DEFER),  # Saturday 10:00-18:00
        (datetime(2026, 11, 21, 10, 0, tzinfo=ET), ALLOW),
        (datetime(2026, 11, 22, 17, 59, tzinfo=ET), ALLOW),
        (datetime(2026, 11, 22, 18, 0, tzinfo=ET), DEFER),
    ]
    for at, kind in cases:
        decision = check(TORONTO, at)
        assert decision.kind is kind, (at, decision)
        assert decision.states == ("CA", "CA-ON")
    saturday_evening = check(TORONTO, datetime(2026, 11, 21, 18, 0, tzinfo=ET))
    assert saturday_evening.not_before == datetime(2026, 11, 22, 10, 0, tzinfo=ET).astimezone(UTC)
    # Canadian statutory holidays of the province (Ontario's Boxing Day observed on Dec 28)
    boxing = check(TORONTO, datetime(2026, 12, 28, 12, 0, tzinfo=ET))
    assert "holiday:CA-ON" in boxing.reasons


def test_toll_free_is_blocked_unless_the_address_decides() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    assert check(TOLL_FREE, at).reasons == ("non_geographic_number",)
    assert check(TOLL_FREE, at).kind is BLOCK
    by_state = check(TOLL_FREE, at, state="FL", postal_code="33101")
    assert by_state.kind is ALLOW
    assert by_state.zones == ("America/New_York",)
    assert by_state.states == ("US", "US-FL")
    early = check(TOLL_FREE, datetime(2026, 11, 17, 7, 30, tzinfo=ET), state="FL")
    assert early.kind is DEFER
    by_zone = check(TOLL_FREE, at, explicit_timezone="America/New_York", country="US")
    assert by_zone.kind is ALLOW
    # ...and every state in that zone then applies (Rhode Island closes at 18:00)
    assert check(TOLL_FREE, at.replace(hour=18), explicit_timezone="America/New_York").kind is DEFER


def test_mississippi_ai_voice_is_blocked() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=CT)
    decision = check(MS, at)
    assert decision.kind is BLOCK
    assert decision.reasons == ("artificial_voice_ban:US-MS",)
    # a Mississippi address with another state's number is blocked too
    assert "artificial_voice_ban:US-MS" in check(GA, at, state="MS").reasons


def test_no_rules_for_other_countries_and_unknown_regions() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    assert check("+442079460000", at).reasons == ("no_rules:GB",)
    assert check("+18765550118", at).reasons == ("no_rules:JM",)  # Jamaica shares +1
    assert check(GA, at, country="MX").reasons == ("no_rules:MX",)
    assert check(GA, at, state="ZZ").reasons == ("no_rules:US-ZZ",)
    assert check("+1404555", at).reasons == ("invalid_number",)


# ---------- clinic


WEEKDAY_9_TO_5 = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}


def test_clinic_hours_in_the_clinics_zone() -> None:
    clinic = ClinicPolicy(timezone="America/Chicago", business_hours=WEEKDAY_9_TO_5)
    at = datetime(2026, 11, 17, 9, 30, tzinfo=ET)  # 08:30 at the clinic
    decision = check(GA, at, clinic=clinic)
    assert decision.kind is DEFER
    assert decision.reasons == ("clinic_closed",)
    assert decision.not_before == datetime(2026, 11, 17, 9, 0, tzinfo=CT).astimezone(UTC)
    assert check(GA, datetime(2026, 11, 17, 16, 59, tzinfo=CT), clinic=clinic).kind is ALLOW
    friday = check(GA, datetime(2026, 11, 20, 17, 0, tzinfo=CT), clinic=clinic)
    assert friday.not_before == datetime(2026, 11, 23, 9, 0, tzinfo=CT).astimezone(UTC)


def test_clinic_and_law_together() -> None:
    # clinic open 07:00-22:00 every day; the law still wins at both ends
    clinic = ClinicPolicy(
        timezone="America/New_York",
        business_hours={d: [("07:00", "12:00"), ("13:00", "22:00")] for d in WEEKDAY_9_TO_5},
    )
    assert check(GA, datetime(2026, 11, 17, 7, 30, tzinfo=ET), clinic=clinic).not_before == (
        datetime(2026, 11, 17, 8, 0, tzinfo=ET).astimezone(UTC)
    )
    lunch = check(GA, datetime(2026, 11, 17, 12, 30, tzinfo=ET), clinic=clinic)
    assert lunch.reasons == ("clinic_closed",)
    assert lunch.not_before == datetime(2026, 11, 17, 13, 0, tzinfo=ET).astimezone(UTC)


def test_no_lawful_window_within_the_horizon() -> None:
    sunday_only = ClinicPolicy(
        timezone="America/Chicago", business_hours={"sun": [("09:00", "17:00")]}
    )
    decision = check(AL, datetime(2026, 11, 17, 12, 0, tzinfo=CT), clinic=sunday_only)
    assert decision.kind is BLOCK
    assert decision.reasons[0] == "no_lawful_window"
    assert "clinic_closed" in decision.reasons


def test_bad_clinic_hours_are_an_error() -> None:
    clinic = ClinicPolicy(timezone="America/Chicago", business_hours={"mon": [("17:00", "09:00")]})
    with pytest.raises(ValueError, match="end after"):
        check(GA, datetime(2026, 11, 17, 12, 0, tzinfo=CT), clinic=clinic)


# ---------- caps


def _ago(at: datetime, *hours: float) -> list[datetime]:
    return [at - timedelta(hours=h) for h in hours]


def test_three_attempts_in_24_hours() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    assert check(GA, at, attempts=_ago(at, 1, 2)).kind is ALLOW
    decision = check(GA, at, attempts=_ago(at, 1, 2, 5))
    assert decision.kind is DEFER
    assert decision.reasons == ("attempt_cap_24h",)
    # the cap frees up when the oldest of the three ages out: 07:00 tomorrow -> window at 08:00
    assert decision.not_before == datetime(2026, 11, 18, 8, 0, tzinfo=ET).astimezone(UTC)
    midday = check(GA, at, attempts=_ago(at, 1, 2, 23))
    assert midday.not_before == (at + timedelta(hours=1)).astimezone(UTC)


def test_eight_attempts_in_14_days() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    history = _ago(at, *(24 * day for day in range(1, 9)))  # one a day for 8 days
    decision = check(GA, at, attempts=history)
    assert decision.reasons == ("attempt_cap_14d",)
    oldest = min(history)
    assert decision.not_before == (oldest + timedelta(days=14)).astimezone(UTC)
    assert check(GA, at, attempts=history[:7]).kind is ALLOW


def test_florida_cap_is_its_own_reason() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    decision = check(FL, at, attempts=_ago(at, 1, 2, 3))
    assert blocking(decision) == ["attempt_cap_24h:US-FL", "attempt_cap_24h"]


def test_maine_one_adad_call_per_8_hours() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    decision = check(ME, at, attempts=_ago(at, 7))
    assert decision.reasons[0] == "attempt_cap_8h:US-ME"
    assert decision.not_before == (at + timedelta(hours=1)).astimezone(UTC)


def test_clinic_caps_only_tighten() -> None:
    at = datetime(2026, 11, 17, 12, 0, tzinfo=ET)
    tight = ClinicPolicy(timezone="America/New_York", max_attempts_24h=1, max_attempts_14d=2)
    assert check(GA, at, clinic=tight, attempts=_ago(at, 2)).reasons == ("attempt_cap_24h",)
    assert check(GA, at, clinic=tight, attempts=_ago(at, 30, 60)).reasons == ("attempt_cap_14d",)
    loose = ClinicPolicy(timezone="America/New_York", max_attempts_24h=10, max_attempts_14d=50)
    assert check(GA, at, clinic=loose, attempts=_ago(at, 1, 2, 3)).kind is DEFER


# ---------- registry

AT = datetime(2026, 11, 17, 12, 0, tzinfo=ET)


@pytest.mark.parametrize(
    ("registry", "inquiry_at", "kind", "reasons"),
    [
        (RegistryFacts(listed=True, data_date=date(2026, 11, 10)), None, BLOCK, ["national_dnc"]),
        # inquiry 2 months ago: exempt for 3 months
        (
            RegistryFacts(listed=True, data_date=date(2026, 11, 10)),
            AT - timedelta(days=61),
            ALLOW,
            [],
        ),
        # inquiry 4 months ago: no longer exempt
        (
            RegistryFacts(listed=True, data_date=date(2026, 11, 10)),
            AT - timedelta(days=122),
            BLOCK,
            ["national_dnc"],
        ),
        # exactly 3 months ago: the exemption has just lapsed
        (
            RegistryFacts(listed=True, data_date=date(2026, 11, 10)),
            datetime(2026, 8, 17, 12, 0, tzinfo=ET),
            BLOCK,
            ["national_dnc"],
        ),
        (
            RegistryFacts(listed=True, data_date=date(2026, 11, 10)),
            datetime(2026, 8, 17, 12, 1, tzinfo=ET),
            ALLOW,
            [],
        ),
        # data age: 31 days is fine, 32 is stale
        (RegistryFacts(listed=False, data_date=date(2026, 10, 17)), None, ALLOW, []),
        (
            RegistryFacts(listed=False, data_date=date(2026, 10, 16)),
            None,
            BLOCK,
            ["registry_stale"],
        ),
        (None, None, BLOCK, ["registry_stale"]),
        (RegistryFacts(listed=False, data_date=None), None, BLOCK, ["registry_stale"]),
        (
            RegistryFacts(listed=True, data_date=date(2026, 9, 1)),
            None,
            BLOCK,
            ["national_dnc", "registry_stale"],
        ),
        # the inquiry exemption covers stale or missing data too
        (None, AT - timedelta(days=10), ALLOW, []),
        # an inquiry "from the future" exempts nothing
        (None, AT + timedelta(days=1), BLOCK, ["registry_stale"]),
    ],
)
def test_national_registry(
    registry: RegistryFacts | None,
    inquiry_at: datetime | None,
    kind: DecisionKind,
    reasons: list[str],
) -> None:
    decision = check(GA, AT, registry=registry, inquiry_at=inquiry_at)
    assert decision.kind is kind
    assert list(decision.reasons) == reasons


def test_written_consent_does_not_override_the_registry_by_default() -> None:
    listed = RegistryFacts(listed=True, data_date=date(2026, 11, 10))
    assert check(GA, AT, registry=listed).reasons == ("national_dnc",)
    rules = patched_rules("US", "us-registry", written_consent_exempts=True)
    assert check(GA, AT, registry=listed, rules=rules).kind is ALLOW


def test_defer_never_lands_after_the_exemption_lapses() -> None:
    listed = RegistryFacts(listed=True, data_date=date(2026, 11, 10))
    evening = datetime(2026, 11, 17, 21, 30, tzinfo=ET)
    lapsing = datetime(2026, 8, 17, 23, 0, tzinfo=ET)  # exemption ends 23:00 tonight
    decision = check(GA, evening, registry=listed, inquiry_at=lapsing)
    assert decision.kind is BLOCK
    assert decision.reasons[0] == "national_dnc"
    # with fresh data and an unlisted number the data's own age is the limit
    ageing = RegistryFacts(listed=False, data_date=date(2026, 10, 17))  # stale from Nov 18 UTC
    assert check(GA, evening, registry=ageing).reasons[0] == "registry_stale"
    fresh = RegistryFacts(listed=False, data_date=date(2026, 10, 18))
    assert check(GA, evening, registry=fresh).kind is DEFER


# ---------- consent, DND


@pytest.mark.parametrize(
    ("overrides", "clinic", "reasons"),
    [
        ({"dnd": True}, NO_CLINIC_LIMIT, ["ghl_dnd"]),
        ({"dnd_call": True}, NO_CLINIC_LIMIT, ["ghl_dnd"]),
        ({"internal_dnc": True}, NO_CLINIC_LIMIT, ["internal_dnc"]),
        (
            {"consent": ConsentFacts(has_evidence=False, missing=("ip",))},
            NO_CLINIC_LIMIT,
            ["no_consent"],
        ),
        (
            {"consent": ConsentFacts(has_evidence=True, revoked=True)},
            NO_CLINIC_LIMIT,
            ["consent_revoked"],
        ),
        (
            {"consent": ConsentFacts(has_evidence=False)},
            ClinicPolicy(timezone="UTC", require_consent=False),
            [],
        ),
        # every hard block that applies is listed, in order
        (
            {
                "dnd": True,
                "internal_dnc": True,
                "consent": ConsentFacts(has_evidence=False, revoked=True),
                "registry": None,
            },
            NO_CLINIC_LIMIT,
            ["ghl_dnd", "internal_dnc", "consent_revoked", "no_consent", "registry_stale"],
        ),
    ],
)
def test_consent_and_dnd(
    overrides: dict[str, Any], clinic: ClinicPolicy, reasons: Sequence[str]
) -> None:
    decision = check(GA, AT, clinic=clinic, **overrides)
    assert list(decision.reasons) == list(reasons)
    assert decision.kind is (BLOCK if reasons else ALLOW)
    assert decision.not_before is None


def test_hard_blocks_beat_time() -> None:
    night = datetime(2026, 11, 17, 23, 0, tzinfo=ET)
    decision = check(MS, night, dnd=True)
    assert decision.reasons == ("ghl_dnd", "artificial_voice_ban:US-MS")


def test_louisiana_emergency_switch() -> None:
    rules = patched_rules("US-LA", "la-emergency", active=True)
    decision = check("+15045550119", AT.astimezone(CT), rules=rules)
    assert decision.reasons == ("emergency:US-LA",)


# ---------- output


def test_decision_metadata_and_notes() -> None:
    decision = check(CA, datetime(2026, 11, 17, 12, 0, tzinfo=PT))
    assert decision.allowed
    assert decision.rules_version == default_rules().version
    assert decision.zones == ("America/Los_Angeles",)
    assert decision.states == ("US", "US-CA")
    assert "note:ai_disclosure:US-CA" in decision.reasons
    assert "note:natural_voice_preannouncement:US-CA" in decision.reasons
    utah = check("+18015550120", datetime(2026, 11, 17, 12, 0, tzinfo=MT))
    assert utah.reasons == ("note:ai_disclosure:US-UT",)


def test_naive_moments_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(lead(GA, AT), NO_CLINIC_LIMIT, datetime(2026, 11, 17, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        check(GA, AT, attempts=[datetime(2026, 11, 17, 11, 0)])


def test_pure_and_deterministic() -> None:
    facts = lead(IDAHO, AT, attempts=_ago(AT, 1, 2, 3), state="ID", postal_code="83814")
    first = decide(facts, NO_CLINIC_LIMIT, AT)
    assert all(decide(facts, NO_CLINIC_LIMIT, AT) == first for _ in range(3))
    assert decide(facts, NO_CLINIC_LIMIT, AT, rules=load_rules()) == first


def test_earliest_allowed() -> None:
    assert earliest_allowed(lead(GA, AT), NO_CLINIC_LIMIT, AT) == AT.astimezone(UTC)
    night = datetime(2026, 11, 17, 22, 0, tzinfo=ET)
    assert earliest_allowed(lead(GA, night), NO_CLINIC_LIMIT, night) == datetime(
        2026, 11, 18, 13, 0, tzinfo=UTC
    )
    assert earliest_allowed(lead(MS, AT), NO_CLINIC_LIMIT, AT) is None


# ---------- warm-up


def test_warm_up_loads_every_holiday_calendar_a_decision_names() -> None:
    # Decisions across US states (their own holidays, e.g. Alabama's), Canada (per province)
    # and the US federal calendar, near the year's end so the next year's dates count too.
    at = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    phones = (GA, FL, AL, TX, MS, SD, RI, PA, CA, ME, IDAHO, INDIANA, TORONTO, "+18085550116")
    policy._holiday_dates.cache_clear()
    policy.warm_up(year=2026)
    loaded = policy._holiday_dates.cache_info().currsize
    assert loaded > 0

    for phone in phones:
        for days in (0, 3):  # Jan 2, 2027 too
            check(phone, at + timedelta(days=days))

    # Nothing left for the first lead to load on the event loop.
    assert policy._holiday_dates.cache_info().currsize == loaded
