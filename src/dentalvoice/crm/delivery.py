"""Performing one outbox write through the GHL client, without ever writing it twice.

Tags, fields and Call DND are idempotent in GHL and are simply sent again. The three writes
that create something look first:

- a note whose earlier try may have reached GHL (`maybe_applied`) is looked for among the
  contact's notes by its marker before it is created;
- an opportunity is searched for by contact and pipeline; found, its stage is moved, else it
  is created;
- an appointment is looked for among the contact's appointments at that start time before
  it is booked.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dentalvoice.crm.client import CustomFieldValue, GhlClient
from dentalvoice.crm.errors import GhlRejected, UnknownCustomField
from dentalvoice.crm.outbox import ClaimedWrite
from dentalvoice.crm.writes import (
    AddTags,
    BookAppointment,
    CreateNote,
    MoveOpportunity,
    Replan,
    SetCallDnd,
    SetFields,
)

__all__ = ["UnknownCustomFields", "deliver"]

# Appointments in these states do not hold the slot: one there is not "already booked".
_VOID = frozenset({"cancelled", "invalid"})


class UnknownCustomFields(GhlRejected):
    """Custom-field keys the location does not have; the write's other fields were written.

    Attributes:
        keys: The missing keys.
        location_id: The GHL location.
    """

    def __init__(self, *, keys: list[str], location_id: str, written: int) -> None:
        self.keys = keys
        self.location_id = location_id
        named = ", ".join(repr(k) for k in keys)
        detail = f"no custom field with key {named} in location {location_id}"
        if written:
            detail += f"; the other {written} field(s) were written"
        super().__init__(status=None, ghl_message=detail, operation="set_fields")


async def deliver(
    ghl: GhlClient, write: ClaimedWrite, *, max_wait: float | None = None
) -> str | None:
    """Send one write.

    Args:
        ghl: The client.
        write: The claimed write (its op parsed).
        max_wait: Longest wait for a local rate-limit slot (None: the client's default).

    Returns:
        The id of what GHL created or already had (note, opportunity, appointment), or None.

    Raises:
        GhlError: From the client; `UnknownCustomFields` when keys are missing.
        ValueError: The write cannot be sent as it is (e.g. an op this function does not do).
    """
    op = write.op
    location, contact = write.ghl_location_id, write.ghl_contact_id
    if isinstance(op, SetCallDnd):
        await ghl.update_contact(
            location_id=location, contact_id=contact, call_dnd=True, max_wait=max_wait
        )
        return None
    if isinstance(op, AddTags):
        await ghl.add_tags(
            location_id=location, contact_id=contact, tags=op.tags, max_wait=max_wait
        )
        return None
    if isinstance(op, SetFields):
        await _set_fields(ghl, write, op, max_wait)
        return None
    if isinstance(op, CreateNote):
        return await _create_note(ghl, write, op, max_wait)
    if isinstance(op, BookAppointment):
        return await _book(ghl, write, op, max_wait)
    if isinstance(op, MoveOpportunity):
        return await _move_opportunity(ghl, write, op, max_wait)
    if isinstance(op, Replan):
        raise ValueError("a replan write is carried out in the database, not sent")
    raise ValueError("unreadable write payload")


async def _set_fields(
    ghl: GhlClient, write: ClaimedWrite, op: SetFields, max_wait: float | None
) -> None:
    location = write.ghl_location_id
    ids: dict[str, str] = {}
    unknown: list[str] = []
    for key in op.fields:
        try:
            ids[key] = await ghl.fields.resolve(location_id=location, key=key)
        except UnknownCustomField:
            unknown.append(key)
    if ids:
        # One misconfigured key must not keep the clinic from seeing the others.
        values: dict[str, CustomFieldValue] = {ids[k]: op.fields[k] for k in ids}
        await ghl.update_contact(
            location_id=location,
            contact_id=write.ghl_contact_id,
            custom_fields=values,
            max_wait=max_wait,
        )
    if unknown:
        raise UnknownCustomFields(keys=unknown, location_id=location, written=len(ids))


async def _create_note(
    ghl: GhlClient, write: ClaimedWrite, op: CreateNote, max_wait: float | None
) -> str:
    location, contact = write.ghl_location_id, write.ghl_contact_id
    if write.maybe_applied:
        for note in await ghl.list_notes(
            location_id=location, contact_id=contact, max_wait=max_wait
        ):
            if op.marker in (note.body or "") or op.marker in (note.title or ""):
                return note.id
    note = await ghl.create_note(
        location_id=location, contact_id=contact, body=op.body, title=op.title, max_wait=max_wait
    )
    return note.id


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _book(
    ghl: GhlClient, write: ClaimedWrite, op: BookAppointment, max_wait: float | None
) -> str:
    location, contact = write.ghl_location_id, write.ghl_contact_id
    # Always looked for, not only after an unsure try: the call may have booked it before it
    # could record the id, and a patient booked twice is worse than one more request.
    listed = await ghl.list_contact_appointments(
        location_id=location, contact_id=contact, max_wait=max_wait
    )
    for existing in listed:
        status = (existing.appointment_status or existing.status or "").lower()
        same_calendar = existing.calendar_id in (None, op.calendar_id)
        if status not in _VOID and same_calendar and existing.starts_at(op.timezone) == op.start:
            return existing.id
    booked = await ghl.create_appointment(
        location_id=location,
        contact_id=contact,
        calendar_id=op.calendar_id,
        start=op.start.astimezone(_zone(op.timezone)),
        title=op.title,
        assigned_user_id=op.assigned_user_id,
        max_wait=max_wait,
    )
    return booked.id


async def _move_opportunity(
    ghl: GhlClient, write: ClaimedWrite, op: MoveOpportunity, max_wait: float | None
) -> str:
    location = write.ghl_location_id
    found = await ghl.search_opportunities(
        location_id=location,
        contact_id=write.ghl_contact_id,
        pipeline_id=op.pipeline_id,
        status="all",
        max_wait=max_wait,
    )
    if found:
        # Several (a clinic allowing duplicates): the open one is the one people work on.
        current = next((o for o in found if o.status == "open"), found[0])
        if current.pipeline_stage_id != op.stage_id:
            await ghl.update_opportunity(
                location_id=location,
                opportunity_id=current.id,
                pipeline_id=op.pipeline_id,
                pipeline_stage_id=op.stage_id,
                max_wait=max_wait,
            )
        return current.id
    created = await ghl.create_opportunity(
        location_id=location,
        pipeline_id=op.pipeline_id,
        contact_id=write.ghl_contact_id,
        name=op.name,
        pipeline_stage_id=op.stage_id,
        max_wait=max_wait,
    )
    return created.id
