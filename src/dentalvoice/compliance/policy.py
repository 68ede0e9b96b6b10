"""The compliance gate: ALLOW a call now, DEFER it to the earliest lawful moment, or BLOCK it."""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from dentalvoice.compliance.facts import ClinicPolicy, Decision, LeadFacts
from dentalvoice.compliance.models import DecisionKind
from dentalvoice.compliance.rules_model import (
    WEEKDAYS,
    AttemptCapRule,
    HolidayRule,
    Rules,
    Week,
    Window,
    default_rules,
    parse_clock,
)
from dentalvoice.compliance.zones import Candidates, candidates

__all__ = ["decide", "earliest_allowed"]

# Every instant is an int of microseconds since the Unix epoch (UTC): exact and fast to compare.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_NEVER = 2**62
# UTC offsets stay within -12h..+14h; this margin brackets any local day in UTC.
_MARGIN = 16 * _HOUR
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_DAY: tuple[Window, ...] = ((0, 1440),)
_CLINIC_CAPS = {24: "max_attempts_24h", 336: "max_attempts_14d"}
Calendars = tuple[tuple[str, str | None], ...]


def decide(
    lead: LeadFacts, clinic: ClinicPolicy, at: datetime, *, rules: Rules | None = None
) -> Decision:
    """Decide whether the lead may be called at `at`, and explain why.

    Hard blocks come first and are all listed: GHL DND, the internal DNC list, revoked or missing
    consent, jurisdiction-wide bans (e.g. Mississippi's artificial-voice ban), numbers that cannot
    be placed (invalid, non-geographic without an address, jurisdictions without rules), and the
    national registry (listed, or data older than its maximum age, unless the inquiry exemption
    applies). Then time: the call is allowed only inside every hours window of every candidate
    jurisdiction in every candidate zone, on no banned day or holiday, inside the clinic's hours
    and under every attempt cap. Otherwise the decision defers to the earliest such moment.

    Args:
        lead: The lead's facts.
        clinic: The clinic's policy (hours in its own zone, consent setting, tighter caps).
        at: The moment asked about; must be timezone-aware.
        rules: The rule set; the shipped data (loaded once) by default.

    Returns:
        ALLOW (reasons: the cited notes), DEFER (not_before in UTC; reasons: what blocks now,
        then the notes) or BLOCK (reasons: every hard block that applies).

    Raises:
        ValueError: If `at` or a datetime in the lead is naive, or the clinic's zone or hours
            are malformed.
    """
    rules = rules or default_rules()
    _require_aware(at, "at")
    cand = candidates(lead, rules)
    known = tuple(j for j in cand.jurisdictions if j in rules.jurisdictions)
    blocks = _hard_blocks(lead, clinic, cand, known, rules)
    registry = _registry_status(lead, at, known, rules)
    blocks.extend(registry.reasons)

    def decision(
        kind: DecisionKind, reasons: Sequence[str], not_before: datetime | None = None
    ) -> Decision:
        return Decision(
            kind=kind,
            not_before=not_before,
            reasons=tuple(dict.fromkeys(reasons)),
            rules_version=rules.version,
            zones=cand.zones,
            states=cand.jurisdictions,
        )

    if blocks:
        return decision(DecisionKind.BLOCK, blocks)
    notes = [f"note:{n.code}:{j}" for j in known for n in rules.jurisdictions[j].cited_notes]
    constraints = _constraints(lead, clinic, cand, known, rules)
    now = _to_us(at)
    failing = [c for c in constraints if not c.allows(now)]
    if not failing:
        return decision(DecisionKind.ALLOW, notes)
    blocking_now = [reason for c in failing for reason in c.reasons_at(now)]
    horizon = now + rules.defaults.search_horizon_days * _DAY
    limit = min(horizon + 1, registry.deadline)
    found = _search(constraints, now, limit)
    if found is None:
        if registry.deadline <= horizon:
            # The registry exemption or data lapses before any lawful window opens.
            return decision(DecisionKind.BLOCK, [registry.reason_at_deadline, *blocking_now])
        return decision(DecisionKind.BLOCK, ["no_lawful_window", *blocking_now])
    return decision(DecisionKind.DEFER, [*blocking_now, *notes], _from_us(found))


def earliest_allowed(
    lead: LeadFacts, clinic: ClinicPolicy, at: datetime, *, rules: Rules | None = None
) -> datetime | None:
    """The earliest moment at or after `at` when `decide` allows the call, if within the horizon.

    Args:
        lead: The lead's facts.
        clinic: The clinic's policy.
        at: The moment to search from; timezone-aware.
        rules: The rule set; the shipped data by default.

    Returns:
        `at` itself (in UTC) if allowed now, the DEFER moment, or None when blocked.
    """
    result = decide(lead, clinic, at, rules=rules)
    if result.kind is DecisionKind.ALLOW:
        return at.astimezone(UTC)
    return result.not_before


# ---------------------------------------------------------------------------- hard blocks


def _hard_blocks(
    lead: LeadFacts,
    clinic: ClinicPolicy,
    cand: Candidates,
    known: tuple[str, ...],
    rules: Rules,
) -> list[str]:
    reasons = []
    if lead.dnd or lead.dnd_call:
        reasons.append("ghl_dnd")
    if lead.internal_dnc:
        reasons.append("internal_dnc")
    if lead.consent.revoked:
        reasons.append("consent_revoked")
    if clinic.require_consent and not lead.consent.has_evidence:
        reasons.append("no_consent")
    for j in known:
        reasons.extend(f"{block.reason}:{j}" for block in rules.jurisdictions[j].blocks)
    reasons.extend(cand.problems)
    reasons.extend(f"no_rules:{j}" for j in cand.jurisdictions if j not in rules.jurisdictions)
    if not cand.problems and not cand.jurisdictions:
        reasons.append("no_rules:unknown")
    complete = all(j in rules.jurisdictions for j in cand.jurisdictions)
    if not cand.problems and cand.jurisdictions and complete and not cand.zones:
        reasons.append("unknown_timezone")
    return reasons


@dataclass(frozen=True, slots=True)
class _RegistryStatus:
    reasons: tuple[str, ...] = ()
    deadline: int = _NEVER  # first instant (µs) at which the registry would block
    reason_at_deadline: str = "registry_stale"


def _registry_status(
    lead: LeadFacts, at: datetime, known: tuple[str, ...], rules: Rules
) -> _RegistryStatus:
    rows = [r for j in known if (r := rules.jurisdictions[j].registry) is not None]
    if not rows:
        return _RegistryStatus()
    max_age = min(r.max_age_days for r in rows)
    months = min(r.inquiry_exemption_months for r in rows)
    consent = lead.consent
    exempting = all(r.written_consent_exempts for r in rows)
    if exempting and consent.has_evidence and not consent.revoked:
        return _RegistryStatus()
    exempt_until: int | None = None
    if lead.inquiry_at is not None and months > 0:
        _require_aware(lead.inquiry_at, "inquiry_at")
        end = _add_months(lead.inquiry_at, months)
        if lead.inquiry_at <= at < end:
            exempt_until = _to_us(end)
    facts = lead.registry
    listed = facts is not None and facts.listed
    # Safe harbor: data obtained no more than `max_age` days before the (UTC) call date.
    fresh_until: int | None = None
    if facts is not None and facts.data_date is not None:
        last_day = facts.data_date + timedelta(days=max_age + 1)
        fresh_until = _to_us(datetime.combine(last_day, time(0), UTC))
    now = _to_us(at)
    fresh = fresh_until is not None and now < fresh_until
    if exempt_until is not None:
        if listed:
            return _RegistryStatus(deadline=exempt_until, reason_at_deadline="national_dnc")
        deadline = max(exempt_until, fresh_until or 0)
        return _RegistryStatus(deadline=deadline)
    reasons = []
    if listed:
        reasons.append("national_dnc")
    if not fresh:
        reasons.append("registry_stale")
    if reasons:
        return _RegistryStatus(reasons=tuple(reasons))
    return _RegistryStatus(deadline=fresh_until or _NEVER)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# ---------------------------------------------------------------------------- time constraints


class _Constraint:
    """Something that allows some instants: `allows(t)` and the next allowed instant."""

    def allows(self, t: int) -> bool:
        raise NotImplementedError

    def next_open(self, t: int, limit: int) -> int | None:
        """The earliest allowed instant >= t and < limit, or None."""
        raise NotImplementedError

    def reasons_at(self, t: int) -> list[str]:
        """Why the constraint does not allow `t`."""
        raise NotImplementedError


class _WallClock(_Constraint):
    """Local wall-clock windows in one zone, per local date (hours, holidays, clinic hours).

    Immutable once built and shared between decisions (see `_law_constraints`); it memoizes the
    UTC intervals of each local date it has been asked about.
    """

    __slots__ = ("calendars", "kind", "labels", "week", "zone", "_days")

    def __init__(
        self,
        zone: str,
        week: Week,
        calendars: tuple[tuple[str, str | None], ...],
        labels: tuple[str, ...],
        kind: str,
    ) -> None:
        self.zone = zone
        self.week = week
        self.calendars = calendars  # holiday calendars whose dates have no window
        self.labels = labels  # jurisdictions, or full reason codes for holidays
        self.kind = kind  # "hours", "holiday" or "clinic"
        self._days: dict[int, tuple[tuple[int, int], ...]] = {}

    def windows(self, day: date) -> tuple[Window, ...]:
        if self.calendars and any(_is_holiday(day, cal) for cal in self.calendars):
            return ()
        return self.week[day.weekday()]

    def intervals(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        """The UTC intervals of one local date (by ordinal), sorted."""
        found = self._days.get(ordinal)
        if found is None:
            if len(self._days) > 4096:  # shared objects live long: keep the memo bounded
                self._days.clear()
            windows = self.windows(date.fromordinal(ordinal))
            found = self._days[ordinal] = _day_intervals(self.zone, windows, ordinal)
        return found

    def allows(self, t: int) -> bool:
        wall = t + _offset_us(self.zone, t)
        day = _wall_date(wall)
        minute_us = wall - (day.toordinal() - _EPOCH_ORDINAL) * _DAY
        return any(s * _MINUTE <= minute_us < e * _MINUTE for s, e in self.windows(day))

    def next_open(self, t: int, limit: int) -> int | None:
        # A local date starts at most 14 h before its UTC date: two days back is always enough.
        ordinal = _EPOCH_ORDINAL + t // _DAY - 2
        best: int | None = None
        while True:
            bound = (ordinal - _EPOCH_ORDINAL) * _DAY - _MARGIN
            if bound >= limit or (best is not None and bound > best):
                break
            for start, end in self.intervals(ordinal):
                if end > t:
                    candidate = start if start > t else t
                    if best is None or candidate < best:
                        best = candidate
                    break
            ordinal += 1
        return best if best is not None and best < limit else None

    def reasons_at(self, t: int) -> list[str]:
        if self.kind == "clinic":
            return ["clinic_closed"]
        if self.kind == "holiday":
            return list(self.labels)
        day = _wall_date(t + _offset_us(self.zone, t))
        code = "outside_hours" if self.week[day.weekday()] else _DAY_NAMES[day.weekday()]
        return [f"{code}:{label}" for label in self.labels]


@dataclass(slots=True)
class _Cap(_Constraint):
    """A rolling attempt cap: the instants at which `max_attempts` dials are in the window."""

    blocked: list[tuple[int, int]]
    reason: str
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.starts = [s for s, _ in self.blocked]

    def _blocking(self, t: int) -> tuple[int, int] | None:
        i = bisect_right(self.starts, t) - 1
        if i >= 0 and self.blocked[i][1] > t:
            return self.blocked[i]
        return None

    def allows(self, t: int) -> bool:
        return self._blocking(t) is None

    def next_open(self, t: int, limit: int) -> int | None:
        interval = self._blocking(t)
        result = t if interval is None else interval[1]
        return result if result < limit else None

    def reasons_at(self, t: int) -> list[str]:
        return [self.reason]


def _cap(attempts: Sequence[int], window_hours: int, max_attempts: int, reason: str) -> _Cap:
    if max_attempts <= 0:
        return _Cap([(-_NEVER, _NEVER)], reason)
    width = window_hours * _HOUR
    # An attempt at a counts on [a, a + width); at equal instants expiry is applied first.
    events = sorted([(a + width, -1) for a in attempts] + [(a, 1) for a in attempts])
    blocked: list[tuple[int, int]] = []
    count = 0
    start: int | None = None
    i = 0
    while i < len(events):
        instant = events[i][0]
        while i < len(events) and events[i][0] == instant:
            count += events[i][1]
            i += 1
        if count >= max_attempts and start is None:
            start = instant
        elif count < max_attempts and start is not None:
            blocked.append((start, instant))
            start = None
    return _Cap(blocked, reason)


def _constraints(
    lead: LeadFacts,
    clinic: ClinicPolicy,
    cand: Candidates,
    known: tuple[str, ...],
    rules: Rules,
) -> list[_Constraint]:
    result: list[_Constraint] = list(_law_constraints(cand.zones, known, rules))
    attempts = [_to_us(_require_aware(a, "attempts")) for a in lead.attempts]
    for j in known:
        for cap in rules.jurisdictions[j].attempt_caps:
            reason = f"attempt_cap_{cap.label}:{j}"
            result.append(_cap(attempts, cap.window_hours, cap.max_attempts, reason))
    for cap in rules.defaults.attempt_caps:
        limit = _clinic_cap(cap, clinic)
        result.append(_cap(attempts, cap.window_hours, limit, f"attempt_cap_{cap.label}"))
    if clinic.business_hours:
        result.append(_clinic_clock(clinic.timezone, _hours_key(clinic.business_hours)))
    return result


def _law_constraints(
    zones: tuple[str, ...], known: tuple[str, ...], rules: Rules
) -> tuple[_WallClock, ...]:
    """The hours and holiday constraints of jurisdictions in zones, shared per rule set."""
    memo_key = ("law", zones, known)
    cached: tuple[_WallClock, ...] | None = rules.memo.get(memo_key)
    if cached is not None:
        return cached
    # Identical clocks (e.g. the federal and Georgia windows in one zone) are merged; the
    # merged clock names every jurisdiction whose rule it stands for.
    labels: dict[tuple[str, Week, Calendars, str], list[str]] = {}

    def add(
        zone: str, week: Week, label: str, calendars: Calendars = (), kind: str = "hours"
    ) -> None:
        names = labels.setdefault((zone, week, calendars, kind), [])
        if label not in names:
            names.append(label)

    every_day: Week = (_FULL_DAY,) * 7
    for j in known:
        for hours in rules.jurisdictions[j].hours:
            for zone in (*zones, *hours.also_in_zones):
                add(zone, hours.days, j)
    for j in known:
        for rule in rules.jurisdictions[j].holidays:
            for zone in zones:
                add(zone, every_day, f"holiday:{j}", (_calendar(rule, j),), "holiday")
    for country, default in rules.defaults.holidays.items():
        if country not in known:
            continue
        subdivisions = [j for j in known if j.startswith(f"{country}-")]
        targets = subdivisions if default.per_subdivision and subdivisions else [country]
        for target in targets:
            for zone in zones:
                add(zone, every_day, f"holiday:{target}", (_calendar(default, target),), "holiday")
    built = tuple(
        _WallClock(zone, week, calendars, tuple(names), kind)
        for (zone, week, calendars, kind), names in labels.items()
    )
    if len(rules.memo) > 100_000:
        rules.memo.clear()
    rules.memo[memo_key] = built
    return built


HoursKey = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


def _hours_key(hours: Mapping[str, Sequence[tuple[str, str]]]) -> HoursKey:
    return tuple((day, tuple((a, b) for a, b in spans)) for day, spans in hours.items())


@lru_cache(maxsize=1024)
def _clinic_clock(zone: str, hours: HoursKey) -> _WallClock:
    _offset_us(zone, 0)  # fail early on an unknown clinic zone
    return _WallClock(zone, _clinic_week(dict(hours)), (), (), "clinic")


def warm_up(*, year: int, rules: Rules | None = None) -> None:
    """Load the rule set and every holiday calendar it can name, for `year` and the next.

    The first decision in a process otherwise pays for them on the event loop: ~140 ms to read
    the rules and ~60 ms for the holiday package's first country, in the first lead's webhook.
    Run it in a thread at start-up.
    """
    rules = rules or default_rules()
    for name, jurisdiction in rules.jurisdictions.items():
        country = name.split("-", 1)[0]
        default = [rules.defaults.holidays[country]] if country in rules.defaults.holidays else []
        for rule in (*jurisdiction.holidays, *default):
            for y in (year, year + 1):
                _holiday_dates(*_calendar(rule, name), y)


def _calendar(rule: HolidayRule, jurisdiction: str) -> tuple[str, str | None]:
    if rule.per_subdivision and "-" in jurisdiction:
        return (rule.country, jurisdiction.split("-", 1)[1])
    return (rule.country, rule.subdiv)


def _clinic_cap(rule: AttemptCapRule, clinic: ClinicPolicy) -> int:
    attribute = _CLINIC_CAPS.get(rule.window_hours)
    tighter: int | None = getattr(clinic, attribute) if attribute else None
    # A clinic can only tighten the product default, never loosen it.
    return rule.max_attempts if tighter is None else min(rule.max_attempts, tighter)


def _clinic_week(hours: Mapping[str, Sequence[tuple[str, str]]]) -> Week:
    week: list[list[Window]] = [[] for _ in WEEKDAYS]
    for key, windows in hours.items():
        name = key.strip().lower()[:3]
        if name not in WEEKDAYS:
            raise ValueError(f"unknown weekday in business_hours: {key!r}")
        for start_text, end_text in windows:
            start, end = parse_clock(start_text), parse_clock(end_text)
            if not start < end:
                raise ValueError(f"business hours must end after they start: {key!r}")
            week[WEEKDAYS.index(name)].append((start, end))
    return tuple(tuple(sorted(day)) for day in week)


def _search(constraints: list[_Constraint], start: int, limit: int) -> int | None:
    # Each constraint's next open instant is a lower bound of the common one, so jumping to
    # the latest of them never skips an allowed moment; it stops when all agree.
    t = start
    for _ in range(10_000):
        moved = False
        for constraint in constraints:
            nxt = constraint.next_open(t, limit)
            if nxt is None:
                return None
            if nxt > t:
                t, moved = nxt, True
        if not moved:
            return t
    return None


# ---------------------------------------------------------------------------- clocks and calendars


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_us(instant: int) -> datetime:
    return _EPOCH + timedelta(microseconds=instant)


def _wall_date(wall: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + wall // _DAY)


def _day_start_bound(day: date) -> int:
    # No instant of this local day is earlier than this, whatever the zone.
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY - _MARGIN


@lru_cache(maxsize=512)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def _offset_us(key: str, t: int) -> int:
    offset = datetime.fromtimestamp(t // _SECOND, _zone(key)).utcoffset()
    return 0 if offset is None else offset // timedelta(microseconds=1)


@lru_cache(maxsize=4096)
def _transitions(key: str, year: int) -> tuple[tuple[int, int], ...]:
    """(instant, offset after) of every UTC-offset change of a zone in a UTC year, in µs."""
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())

    def offset(second: int) -> int:
        return _offset_us(key, second * _SECOND)

    found = []
    samples = [start - 1, *range(start + 86_399, end - 1, 86_400), end - 1]
    for before, after in zip(samples, samples[1:], strict=False):
        if offset(before) == offset(after):
            continue
        # One change per day at most (true of every zone in use): bisect to its exact second.
        low, high = before, after
        while high - low > 1:
            middle = (low + high) // 2
            if offset(middle) == offset(before):
                low = middle
            else:
                high = middle
        found.append((high * _SECOND, offset(high)))
    return tuple(found)


def _segments(key: str, low: int, high: int) -> list[tuple[int, int, int]]:
    """Pieces [a, b) of [low, high) with a constant UTC offset, as (a, b, offset)."""
    years = range(_from_us(low).year, _from_us(high).year + 1)
    changes = [c for year in years for c in _transitions(key, year) if low < c[0] < high]
    pieces = []
    current, offset = low, _offset_us(key, low)
    for instant, after in changes:
        pieces.append((current, instant, offset))
        current, offset = instant, after
    pieces.append((current, high, offset))
    return pieces


@lru_cache(maxsize=65_536)
def _day_intervals(
    key: str, windows: tuple[Window, ...], ordinal: int
) -> tuple[tuple[int, int], ...]:
    """The UTC instants whose local wall time falls in `windows` of one local date, merged."""
    if not windows:
        return ()
    midnight = (ordinal - _EPOCH_ORDINAL) * _DAY
    pieces = _segments(key, midnight - _MARGIN, midnight + _DAY + _MARGIN)
    out: list[tuple[int, int]] = []
    for start, end in windows:
        wall_start, wall_end = midnight + start * _MINUTE, midnight + end * _MINUTE
        # Within a constant-offset piece, local = utc + offset; a DST gap or repeat falls out.
        for low, high, offset in pieces:
            a, b = max(low, wall_start - offset), min(high, wall_end - offset)
            if a < b:
                out.append((a, b))
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


@lru_cache(maxsize=4096)
def _holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    calendar_ = holidays_lib.country_holidays(country, subdiv=subdiv, years=year)
    return frozenset(calendar_.keys())


def _is_holiday(day: date, cal: tuple[str, str | None]) -> bool:
    return day in _holiday_dates(cal[0], cal[1], day.year)
