"""Slot arithmetic on its own: intervals, steps, zones across DST, team availability."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dentalvoice.emulators.ghl import Appointment, Calendar
from dentalvoice.emulators.ghl.slots import free_slots, is_free, is_slot_start

NY = ZoneInfo("America/New_York")


def _calendar(**overrides: object) -> Calendar:
    values: dict[str, object] = {
        "id": "Cal00000000000000001",
        "location_id": "Loc00000000000000001",
        "name": "Consult",
        "open_hours": {6: [(time(9), time(11))]},  # Sundays 09:00-11:00
        "slot_minutes": 45,
        "slot_interval_minutes": 30,
    }
    values.update(overrides)
    return Calendar(**values)  # type: ignore[arg-type]


def _appointment(start: datetime, minutes: int, user: str | None = None) -> Appointment:
    return Appointment(
        id="Appt0000000000000001",
        calendar_id="Cal00000000000000001",
        location_id="Loc00000000000000001",
        contact_id="Cont0000000000000001",
        start=start,
        end=start + timedelta(minutes=minutes),
        assigned_user_id=user,
    )


def test_slots_step_by_the_interval_and_must_end_by_closing() -> None:
    sunday = datetime(2030, 1, 6, tzinfo=NY)

    days = free_slots(
        _calendar(),
        zone=NY,
        start=sunday,
        end=sunday + timedelta(days=1),
        now=sunday,
        booked=[],
        out_zone=NY,
    )

    # 09:00, 09:30, 10:00 (10:15 end); 10:30 would end at 11:15.
    assert days == {
        "2030-01-06": [
            "2030-01-06T09:00:00-05:00",
            "2030-01-06T09:30:00-05:00",
            "2030-01-06T10:00:00-05:00",
        ]
    }


def test_wall_clock_hours_hold_across_the_dst_change() -> None:
    # US DST starts on Sunday 2030-03-10: the offset changes, the opening hour does not.
    before = datetime(2030, 3, 3, tzinfo=NY)
    after = datetime(2030, 3, 10, tzinfo=NY)
    calendar = _calendar()

    first = [
        s
        for s in free_slots(
            calendar,
            zone=NY,
            start=before,
            end=before + timedelta(days=1),
            now=before,
            booked=[],
            out_zone=UTC,
        ).values()
    ][0][0]
    second = [s for s in free_slots(calendar, zone=NY, start=after, end=after + timedelta(days=1),
                                    now=after, booked=[], out_zone=UTC).values()][0][0]  # fmt: skip

    assert (first, second) == ("2030-03-03T14:00:00+00:00", "2030-03-10T13:00:00+00:00")


def test_an_overlap_of_any_length_blocks_a_slot() -> None:
    calendar = _calendar()
    start = datetime(2030, 1, 6, 9, 0, tzinfo=NY)
    booked = [_appointment(start + timedelta(minutes=40), 10)]

    assert not is_free(calendar, start, start + timedelta(minutes=45), booked)
    assert is_free(calendar, start + timedelta(minutes=50), start + timedelta(minutes=95), booked)


def test_a_team_slot_is_free_while_one_member_is() -> None:
    calendar = _calendar(team_member_ids=["Ann", "Bob"])
    start = datetime(2030, 1, 6, 9, 0, tzinfo=NY)
    end = start + timedelta(minutes=45)

    assert is_free(calendar, start, end, [_appointment(start, 45, "Ann")])
    assert not is_free(calendar, start, end, [_appointment(start, 45, "Ann")], ["Ann"])
    assert not is_free(
        calendar, start, end, [_appointment(start, 45, "Ann"), _appointment(start, 45, "Bob")]
    )
    assert not is_free(calendar, start, end, [_appointment(start, 45)])


def test_slot_starts_are_exact() -> None:
    calendar = _calendar()

    assert is_slot_start(calendar, NY, datetime(2030, 1, 6, 9, 30, tzinfo=NY))
    assert is_slot_start(calendar, NY, datetime(2030, 1, 6, 14, 30, tzinfo=UTC))
    assert not is_slot_start(calendar, NY, datetime(2030, 1, 6, 9, 15, tzinfo=NY))
    assert not is_slot_start(calendar, NY, datetime(2030, 1, 6, 10, 30, tzinfo=NY))
