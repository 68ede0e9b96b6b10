"""Calendars: free slots from open hours, zone, bookings and the clock; booking rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dentalvoice.emulators.ghl import GhlEmulator, ManualClock

from .conftest import START, Clinic, epoch_ms

MONDAY_NY = datetime(2030, 1, 7, 5, 0, tzinfo=UTC)  # local midnight in New York


async def _slots(
    http: httpx.AsyncClient, clinic: Clinic, start: datetime, days: float, **params: Any
) -> httpx.Response:
    query = {
        "startDate": epoch_ms(start),
        "endDate": epoch_ms(start + timedelta(days=days)) - 1,
        **params,
    }
    return await http.get(
        f"/calendars/{clinic.calendar.id}/free-slots",
        headers=clinic.calendar_headers,
        params=query,
    )


def _book(clinic: Clinic, start: str, **extra: Any) -> dict[str, Any]:
    return {
        "calendarId": clinic.calendar.id,
        "locationId": clinic.location.id,
        "contactId": clinic.contact.id,
        "startTime": start,
        **extra,
    }


def _dates(body: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v["slots"] for k, v in body.items() if k != "traceId"}


async def test_free_slots_follow_open_hours_in_the_calendars_zone(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    response = await _slots(http, clinic, MONDAY_NY, 1)

    assert response.status_code == 200
    body = response.json()
    assert "traceId" in body
    slots = _dates(body)
    assert list(slots) == ["2030-01-07"]
    day = slots["2030-01-07"]
    assert day[0] == "2030-01-07T09:00:00-05:00"
    assert day[-1] == "2030-01-07T16:30:00-05:00"
    assert "2030-01-07T11:30:00-05:00" in day
    assert "2030-01-07T12:00:00-05:00" not in day  # lunch
    assert len(day) == 6 + 8


async def test_the_timezone_parameter_rewrites_slots_and_date_keys(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    response = await _slots(http, clinic, MONDAY_NY, 1, timezone="Asia/Tokyo")

    slots = _dates(response.json())
    # 09:00 in New York is 23:00 in Tokyo; 13:00 New York is 03:00 the next Tokyo day.
    assert slots["2030-01-07"][0] == "2030-01-07T23:00:00+09:00"
    assert slots["2030-01-08"][0] == "2030-01-08T00:00:00+09:00"
    assert sum(len(v) for v in slots.values()) == 14


async def test_weekends_have_no_slots_and_past_slots_are_dropped(
    http: httpx.AsyncClient, clinic: Clinic, clock: ManualClock
) -> None:
    clock.set(datetime(2030, 1, 7, 15, 10, tzinfo=UTC))  # 10:10 in New York

    response = await _slots(http, clinic, MONDAY_NY, 7)

    slots = _dates(response.json())
    assert list(slots) == [f"2030-01-{d:02d}" for d in range(7, 12)]
    assert slots["2030-01-07"][0] == "2030-01-07T10:30:00-05:00"


async def test_booked_appointments_take_their_slot_away(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    emulator.seed_appointment(
        calendar_id=clinic.calendar.id,
        contact_id=clinic.contact.id,
        start="2030-01-07T10:00:00-05:00",
        end="2030-01-07T11:00:00-05:00",
    )
    emulator.seed_appointment(
        calendar_id=clinic.calendar.id,
        contact_id=clinic.contact.id,
        start="2030-01-07T14:00:00-05:00",
        status="cancelled",
    )

    day = _dates((await _slots(http, clinic, MONDAY_NY, 1)).json())["2030-01-07"]

    assert "2030-01-07T10:00:00-05:00" not in day
    assert "2030-01-07T10:30:00-05:00" not in day
    assert "2030-01-07T11:00:00-05:00" in day
    assert "2030-01-07T14:00:00-05:00" in day  # a cancelled booking frees its slot


async def test_date_specific_hours_replace_that_weekdays_hours(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    calendar = emulator.seed_calendar(
        location_id=clinic.location.id,
        open_hours={"mon": [("09:00", "10:00")]},
        date_hours={"2030-01-08": [("14:00", "14:30")], "2030-01-14": []},
    )

    response = await http.get(
        f"/calendars/{calendar.id}/free-slots",
        headers=clinic.calendar_headers,
        params={
            "startDate": epoch_ms(MONDAY_NY),
            "endDate": epoch_ms(MONDAY_NY + timedelta(days=14)) - 1,
        },
    )

    # A Tuesday open only on its date; the second Monday closed on its date.
    assert _dates(response.json()) == {
        "2030-01-07": ["2030-01-07T09:00:00-05:00", "2030-01-07T09:30:00-05:00"],
        "2030-01-08": ["2030-01-08T14:00:00-05:00"],
    }


async def test_a_stale_start_is_listed_though_booked_and_refused_when_booked(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    start = "2030-01-07T09:00:00-05:00"
    calendar = emulator.seed_calendar(
        location_id=clinic.location.id,
        open_hours={"mon": [("09:00", "10:00")]},
        stale_starts=[start],
    )
    emulator.seed_appointment(calendar_id=calendar.id, contact_id=clinic.contact.id, start=start)

    listed = await http.get(
        f"/calendars/{calendar.id}/free-slots",
        headers=clinic.calendar_headers,
        params={"startDate": epoch_ms(MONDAY_NY), "endDate": epoch_ms(MONDAY_NY) + 86_399_999},
    )
    booked = await http.post(
        "/calendars/events/appointments",
        headers=clinic.calendar_headers,
        json={**_book(clinic, start), "calendarId": calendar.id},
    )

    assert _dates(listed.json())["2030-01-07"] == [start, "2030-01-07T09:30:00-05:00"]
    assert booked.status_code == 400
    assert booked.json()["message"] == "The slot you have selected is no longer available."
    assert len(emulator.state.appointments_of(clinic.contact.id)) == 1


async def test_the_range_is_capped_at_31_days(http: httpx.AsyncClient, clinic: Clinic) -> None:
    ok = await _slots(http, clinic, MONDAY_NY, 31)
    too_long = await _slots(http, clinic, MONDAY_NY, 32)
    backwards = await http.get(
        f"/calendars/{clinic.calendar.id}/free-slots",
        headers=clinic.calendar_headers,
        params={"startDate": epoch_ms(START), "endDate": epoch_ms(START) - 1},
    )

    assert ok.status_code == 200
    assert too_long.status_code == 422
    assert too_long.json()["message"] == ["endDate: Date range cannot be more than 31 days"]
    assert backwards.status_code == 422


async def test_booking_a_free_slot_returns_the_flat_appointment(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    response = await http.post(
        "/calendars/events/appointments",
        headers=clinic.calendar_headers,
        json=_book(clinic, "2030-01-07T14:00:00-05:00", title="Consult"),
    )

    assert response.status_code == 200
    body = response.json()
    assert "appointment" not in body
    assert (body["startTime"], body["endTime"]) == (
        "2030-01-07T14:00:00-05:00",
        "2030-01-07T14:30:00-05:00",
    )
    assert body["appointmentStatus"] == "confirmed"
    fetched = await http.get(
        f"/calendars/events/appointments/{body['id']}", headers=clinic.calendar_headers
    )
    assert fetched.json()["event"]["contactId"] == clinic.contact.id
    assert len(emulator.contact_state(clinic.contact.id)["appointments"]) == 1
    day = _dates((await _slots(http, clinic, MONDAY_NY, 1)).json())["2030-01-07"]
    assert "2030-01-07T14:00:00-05:00" not in day


@pytest.mark.parametrize(
    "start",
    [
        "2030-01-07T12:00:00-05:00",  # lunch
        "2030-01-07T09:10:00-05:00",  # not a slot start
        "2030-01-12T10:00:00-05:00",  # Saturday
        "2030-01-07T06:30:00-05:00",  # before opening, and in the past anyway
    ],
)
async def test_booking_outside_the_free_slots_is_refused(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic, start: str
) -> None:
    response = await http.post(
        "/calendars/events/appointments",
        headers=clinic.calendar_headers,
        json=_book(clinic, start),
    )

    assert response.status_code == 400
    assert response.json()["message"] == "The slot you have selected is no longer available."
    assert emulator.state.appointments == {}


async def test_a_taken_slot_is_refused_unless_validation_is_skipped(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    url = "/calendars/events/appointments"
    first = await http.post(
        url, headers=clinic.calendar_headers, json=_book(clinic, "2030-01-07T09:00:00-05:00")
    )
    second = await http.post(
        url, headers=clinic.calendar_headers, json=_book(clinic, "2030-01-07T09:00:00-05:00")
    )
    forced = await http.post(
        url,
        headers=clinic.calendar_headers,
        json=_book(clinic, "2030-01-07T09:00:00-05:00", ignoreFreeSlotValidation=True),
    )

    assert (first.status_code, second.status_code, forced.status_code) == (200, 400, 200)
    assert len(emulator.state.appointments) == 2


async def test_a_start_time_without_offset_is_refused(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    response = await http.post(
        "/calendars/events/appointments",
        headers=clinic.calendar_headers,
        json=_book(clinic, "2030-01-07T09:00:00"),
    )

    assert response.status_code == 400
    assert "offset" in response.json()["message"]


async def test_a_team_calendar_needs_an_assigned_member(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    team = emulator.seed_calendar(
        location_id=clinic.location.id,
        name="Hygiene team",
        team_member_ids=["UserAnnHygienist0001", "UserBobHygienist0002"],
    )
    url = "/calendars/events/appointments"
    body = _book(clinic, "2030-01-07T09:00:00-05:00", calendarId=team.id)

    unassigned = await http.post(url, headers=clinic.calendar_headers, json=body)
    stranger = await http.post(
        url,
        headers=clinic.calendar_headers,
        json={**body, "assignedUserId": "SomeoneElse000000000"},
    )
    ann = await http.post(
        url,
        headers=clinic.calendar_headers,
        json={**body, "assignedUserId": "UserAnnHygienist0001"},
    )
    bob = await http.post(
        url,
        headers=clinic.calendar_headers,
        json={**body, "assignedUserId": "UserBobHygienist0002"},
    )
    ann_again = await http.post(
        url,
        headers=clinic.calendar_headers,
        json={**body, "assignedUserId": "UserAnnHygienist0001"},
    )

    assert unassigned.status_code == 400
    assert unassigned.json()["message"] == "Either userId or assignedUserId must be set"
    assert stranger.status_code == 400
    # The same 09:00 slot is free once per member.
    assert (ann.status_code, bob.status_code, ann_again.status_code) == (200, 200, 400)
    assert ann.json()["assignedUserId"] == "UserAnnHygienist0001"


async def test_the_calendar_api_wants_its_own_version(
    http: httpx.AsyncClient, clinic: Clinic
) -> None:
    response = await http.post(
        "/calendars/events/appointments",
        headers=clinic.headers,
        json=_book(clinic, "2030-01-07T09:00:00-05:00"),
    )

    assert response.status_code == 422
    assert response.json()["message"] == ["Version: must be one of: 2021-04-15"]


async def test_other_locations_calendars_are_403(
    http: httpx.AsyncClient, emulator: GhlEmulator, clinic: Clinic
) -> None:
    other = emulator.seed_location(name="Elsewhere")
    calendar = emulator.seed_calendar(location_id=other.id)

    response = await http.get(
        f"/calendars/{calendar.id}/free-slots",
        headers=clinic.calendar_headers,
        params={"startDate": epoch_ms(START), "endDate": epoch_ms(START + timedelta(days=1))},
    )

    assert response.status_code == 403
