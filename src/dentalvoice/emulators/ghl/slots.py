"""Free slots of a calendar: its open hours, cut into slots, minus what is booked or past.

Open hours are wall-clock intervals in the calendar's zone; a date with date-specific hours
uses those instead of its weekday's. A slot starts every `interval_minutes` from an
interval's opening and lasts `slot_minutes`; it must end by the closing time. A slot is free
when it has not started yet (emulator clock) and no blocking appointment overlaps it; on a
team calendar it is free when at least one eligible member has no overlapping appointment (an
appointment without a member blocks the whole team). The listing also shows a calendar's
`stale_starts`, booked or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta, tzinfo

from dentalvoice.emulators.ghl.state import Appointment, Calendar


def candidate_starts(
    calendar: Calendar, zone: tzinfo, first_day: date, last_day: date
) -> Iterator[datetime]:
    """Every slot start on local days `first_day`..`last_day`, in order, timezone-aware."""
    length = timedelta(minutes=calendar.slot_minutes)
    step = timedelta(minutes=calendar.interval_minutes)
    day = first_day
    while day <= last_day:
        hours = calendar.date_hours.get(day, calendar.open_hours.get(day.weekday(), []))
        for opens, closes in sorted(hours):
            start = datetime.combine(day, opens, tzinfo=zone)
            close = datetime.combine(day, closes, tzinfo=zone)
            while start + length <= close:
                yield start
                start += step
        day += timedelta(days=1)


def is_free(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    booked: Iterable[Appointment],
    users: Sequence[str] | None = None,
) -> bool:
    """Whether [start, end) is free on `calendar` (for one of `users` on a team calendar).

    Args:
        calendar: The calendar.
        start: Aware start.
        end: Aware end.
        booked: The calendar's blocking appointments.
        users: Team members to consider (default: every member); ignored on personal
            calendars.
    """
    overlapping = [a for a in booked if a.start < end and start < a.end]
    if not calendar.is_team:
        return not overlapping
    if any(a.assigned_user_id is None for a in overlapping):
        return False
    busy = {a.assigned_user_id for a in overlapping}
    return any(user not in busy for user in (users or calendar.team_member_ids))


def free_slots(
    calendar: Calendar,
    *,
    zone: tzinfo,
    start: datetime,
    end: datetime,
    now: datetime,
    booked: Sequence[Appointment],
    out_zone: tzinfo,
    users: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """The free slot starts between `start` and `end`, grouped by date in `out_zone`.

    Args:
        calendar: The calendar.
        zone: The zone of its open hours.
        start: Aware range start (inclusive).
        end: Aware range end (inclusive).
        now: Slots starting before this are not offered.
        booked: The calendar's blocking appointments.
        out_zone: The zone the slot strings and date keys are written in.
        users: Team members to consider.

    Returns:
        `{"YYYY-MM-DD": ["2024-10-28T10:00:00-05:00", ...]}`; days without slots left out.
    """
    length = timedelta(minutes=calendar.slot_minutes)
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    days: dict[str, list[str]] = {}
    for slot in candidate_starts(calendar, zone, first_day, last_day):
        if slot < start or slot > end or slot < now:
            continue
        if slot not in calendar.stale_starts and not is_free(
            calendar, slot, slot + length, booked, users
        ):
            continue
        local = slot.astimezone(out_zone)
        days.setdefault(local.date().isoformat(), []).append(local.isoformat())
    return days


def is_slot_start(calendar: Calendar, zone: tzinfo, moment: datetime) -> bool:
    """Whether `moment` is exactly one of the calendar's slot starts (booked or not)."""
    day = moment.astimezone(zone).date()
    return any(slot == moment for slot in candidate_starts(calendar, zone, day, day))
