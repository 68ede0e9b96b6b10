"""Calendars API (`apps/calendars.json`, `Version: 2021-04-15`): free slots and appointments.

Free slots take `startDate`/`endDate` in epoch milliseconds (at most 31 days apart) and an
optional IANA `timezone` for the answer; the answer is keyed by `YYYY-MM-DD` with a
`traceId` key beside the dates (GHL adds one; clients must pick date keys only).

Booking checks that the start is a free slot unless `ignoreFreeSlotValidation` is true, and
on a team calendar that `assignedUserId` names a member ("Either userId or assignedUserId
must be set", GHL's message per highlevel-api-docs#23). The create answer is the flat
appointment with status 200, as the spec documents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dentalvoice.emulators.ghl.errors import GhlError, bad_request, not_found
from dentalvoice.emulators.ghl.routing import Ctx, Reply, Route
from dentalvoice.emulators.ghl.slots import free_slots, is_free, is_slot_start
from dentalvoice.emulators.ghl.state import Appointment, Calendar
from dentalvoice.emulators.ghl.views import appointment_json, event_json

MAX_RANGE = timedelta(days=31)
TEAM_USER_REQUIRED = "Either userId or assignedUserId must be set"
SLOT_TAKEN = "The slot you have selected is no longer available."
_STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")


def get_free_slots(ctx: Ctx) -> Reply:
    """`GET /calendars/{calendarId}/free-slots`."""
    calendar = _calendar(ctx, ctx.params["calendarId"])
    start = _epoch_ms(ctx, "startDate")
    end = _epoch_ms(ctx, "endDate")
    if end < start:
        raise GhlError(422, ["endDate: must not be before startDate"])
    if end - start > MAX_RANGE:
        raise GhlError(422, ["endDate: Date range cannot be more than 31 days"])
    zone = _zone(ctx.state.calendar_zone(calendar))
    out_zone = zone
    if ctx.arg("timezone"):
        out_zone = _zone(ctx.arg("timezone") or "", field="timezone")
    users = [u for u in [ctx.arg("userId"), *ctx.query.get("userIds", [])] if u]
    days = free_slots(
        calendar,
        zone=zone,
        start=start,
        end=end,
        now=ctx.now(),
        booked=ctx.state.appointments_on(calendar.id),
        out_zone=out_zone,
        users=users or None,
    )
    body: dict[str, Any] = {day: {"slots": slots} for day, slots in days.items()}
    body["traceId"] = ctx.emulator.ids.uuid()
    return Reply(200, body)


def create_appointment(ctx: Ctx) -> Reply:
    """`POST /calendars/events/appointments` → 200, the appointment, flat."""
    body = ctx.json()
    location_id = str(body["locationId"])
    ctx.require_location(location_id)
    calendar = ctx.state.calendars.get(str(body["calendarId"]))
    if calendar is None or calendar.location_id != location_id:
        raise not_found("Calendar")
    contact = ctx.state.contacts.get(str(body["contactId"]))
    if contact is None or contact.location_id != location_id:
        raise not_found("Contact")
    start = _moment(body["startTime"], "startTime")
    end = (
        _moment(body["endTime"], "endTime")
        if body.get("endTime")
        else start + timedelta(minutes=calendar.slot_minutes)
    )
    if end <= start:
        raise bad_request("endTime must be after startTime")
    assigned = body.get("assignedUserId")
    if calendar.is_team:
        if not assigned:
            raise bad_request(TEAM_USER_REQUIRED)
        if assigned not in calendar.team_member_ids:
            raise bad_request("assignedUserId is not a member of this calendar")
    if not body.get("ignoreFreeSlotValidation", False):
        _check_slot(ctx, calendar, start, end, assigned)
    status = body.get("appointmentStatus") or "confirmed"
    if status not in _STATUSES:
        raise bad_request("appointmentStatus is not valid")
    now = ctx.now()
    kept = ("address", "description", "meetingLocationType", "meetingLocationId", "notes")
    appointment = Appointment(
        id=ctx.emulator.ids.object_id(),
        calendar_id=calendar.id,
        location_id=location_id,
        contact_id=contact.id,
        start=start.astimezone(UTC),
        end=end.astimezone(UTC),
        title=body.get("title"),
        status=status,
        assigned_user_id=assigned,
        to_notify=bool(body.get("toNotify", True)),
        extra={k: body[k] for k in kept if k in body},
        date_added=now,
        date_updated=now,
    )
    ctx.state.appointments[appointment.id] = appointment
    return Reply(200, appointment_json(appointment, ctx.state))


def get_appointment(ctx: Ctx) -> Reply:
    """`GET /calendars/events/appointments/{eventId}` → `{"event": …}`."""
    appointment = ctx.state.appointments.get(ctx.params["eventId"])
    if appointment is None:
        raise not_found("Appointment")
    ctx.require_location(appointment.location_id)
    return Reply(200, {"event": event_json(appointment, ctx.state)})


def _calendar(ctx: Ctx, calendar_id: str) -> Calendar:
    calendar = ctx.state.calendars.get(calendar_id)
    if calendar is None:
        raise not_found("Calendar")
    ctx.require_location(calendar.location_id)
    return calendar


def _check_slot(
    ctx: Ctx, calendar: Calendar, start: datetime, end: datetime, assigned: str | None
) -> None:
    zone = _zone(ctx.state.calendar_zone(calendar))
    free = (
        start >= ctx.now()
        and is_slot_start(calendar, zone, start)
        and is_free(
            calendar,
            start,
            end,
            ctx.state.appointments_on(calendar.id),
            [assigned] if assigned else None,
        )
    )
    if not free:
        raise bad_request(SLOT_TAKEN)


def _epoch_ms(ctx: Ctx, name: str) -> datetime:
    text = ctx.arg(name)
    try:
        return datetime.fromtimestamp(float(text or "") / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise GhlError(422, [f"{name}: must be epoch milliseconds"]) from None


def _zone(name: str, *, field: str | None = None) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if field is None:
            return ZoneInfo("UTC")
        raise GhlError(422, [f"{field}: must be an IANA time zone"]) from None


def _moment(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise bad_request(f"{field} must be an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise bad_request(f"{field} must carry a UTC offset, e.g. 2021-06-23T03:30:00+05:30")
    return moment


ROUTES = (
    Route("POST", "/calendars/events/appointments", create_appointment, "calendars/events.write"),
    Route(
        "GET",
        "/calendars/events/appointments/{eventId}",
        get_appointment,
        "calendars/events.readonly",
    ),
    Route("GET", "/calendars/{calendarId}/free-slots", get_free_slots, "calendars.readonly"),
)
