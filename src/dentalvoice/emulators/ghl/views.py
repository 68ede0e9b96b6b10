"""The JSON GHL answers with, built from the emulator's state.

Shapes follow the response schemas of the v2 spec (`GetContectByIdSchema`, `GetNoteSchema`,
`AppointmentSchemaResponse`, `CalendarEventDTO`, `CustomFieldSchema`, ...) and GHL's habits:
object timestamps as `2021-11-26T12:41:02.193Z`, appointment times in the calendar's zone
with their offset, custom field values under `value` on contacts and `fieldValue` on
opportunities.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dentalvoice.emulators.ghl.state import (
    Appointment,
    Contact,
    CustomField,
    GhlState,
    Location,
    Note,
    Opportunity,
    Pipeline,
)


def stamp(moment: datetime | None) -> str | None:
    """GHL's object timestamp: UTC with milliseconds and `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _full_name(contact: Contact) -> str | None:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return name or None


def _lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def contact_json(contact: Contact) -> dict[str, Any]:
    """`GetContectByIdSchema`, as `GET /contacts/{id}` and `PUT` return it."""
    extra = contact.extra
    return {
        "id": contact.id,
        "name": _full_name(contact),
        "locationId": contact.location_id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "emailLowerCase": _lower(contact.email),
        "timezone": contact.timezone,
        "companyName": extra.get("companyName"),
        "phone": contact.phone,
        "dnd": contact.dnd,
        "dndSettings": {k: dict(v) for k, v in contact.dnd_settings.items()},
        "inboundDndSettings": {k: dict(v) for k, v in contact.inbound_dnd_settings.items()},
        "type": extra.get("type", "lead"),
        "source": extra.get("source"),
        "assignedTo": contact.assigned_to,
        "address1": extra.get("address1"),
        "city": extra.get("city"),
        "state": extra.get("state"),
        "country": extra.get("country"),
        "postalCode": extra.get("postalCode"),
        "website": extra.get("website"),
        "tags": list(contact.tags),
        "dateOfBirth": extra.get("dateOfBirth"),
        "dateAdded": stamp(contact.date_added),
        "dateUpdated": stamp(contact.date_updated),
        "attachments": [],
        "firstNameLowerCase": _lower(contact.first_name),
        "lastNameLowerCase": _lower(contact.last_name),
        "fullNameLowerCase": _lower(_full_name(contact)),
        "lastActivity": None,
        "customFields": [{"id": fid, "value": v} for fid, v in contact.custom_fields.items()],
        "businessId": None,
        "followers": [],
        "additionalEmails": [],
        "additionalPhones": [],
    }


def note_json(note: Note) -> dict[str, Any]:
    """`GetNoteSchema`."""
    body: dict[str, Any] = {
        "id": note.id,
        "body": note.body,
        "userId": note.user_id,
        "dateAdded": stamp(note.date_added),
        "contactId": note.contact_id,
        "pinned": note.pinned,
    }
    if note.title is not None:
        body["title"] = note.title
    if note.color is not None:
        body["color"] = note.color
    return body


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    """A pipeline with its stages, as `GET /opportunities/pipelines` lists them."""
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "stages": [
            {
                "id": s.id,
                "name": s.name,
                "position": s.position,
                "showInFunnel": True,
                "showInPieChart": True,
            }
            for s in pipeline.stages
        ],
        "showInFunnel": True,
        "showInPieChart": True,
        "locationId": pipeline.location_id,
    }


def opportunity_json(opportunity: Opportunity, state: GhlState) -> dict[str, Any]:
    """An opportunity with its contact summary (search, create and update return this)."""
    contact = state.contacts.get(opportunity.contact_id)
    summary = None
    if contact is not None:
        summary = {
            "id": contact.id,
            "name": _full_name(contact),
            "companyName": contact.extra.get("companyName"),
            "email": contact.email,
            "phone": contact.phone,
            "tags": list(contact.tags),
        }
    return {
        "id": opportunity.id,
        "name": opportunity.name,
        "monetaryValue": opportunity.monetary_value,
        "pipelineId": opportunity.pipeline_id,
        "pipelineStageId": opportunity.stage_id,
        "assignedTo": opportunity.assigned_to,
        "status": opportunity.status,
        "source": opportunity.source,
        "lastStatusChangeAt": stamp(opportunity.last_status_change_at),
        "lastStageChangeAt": stamp(opportunity.last_stage_change_at),
        "lastActionDate": stamp(opportunity.updated_at),
        "createdAt": stamp(opportunity.created_at),
        "updatedAt": stamp(opportunity.updated_at),
        "contactId": opportunity.contact_id,
        "locationId": opportunity.location_id,
        "contact": summary,
        "customFields": [
            {"id": fid, "fieldValue": v} for fid, v in opportunity.custom_fields.items()
        ],
        "lostReasonId": None,
        "followers": [],
    }


def _local(moment: datetime, state: GhlState, calendar_id: str) -> str:
    calendar = state.calendars.get(calendar_id)
    zone = ZoneInfo(state.calendar_zone(calendar)) if calendar is not None else UTC
    return moment.astimezone(zone).isoformat()


def appointment_json(appointment: Appointment, state: GhlState) -> dict[str, Any]:
    """`AppointmentSchemaResponse`: the flat body of `POST /calendars/events/appointments`."""
    return {
        "id": appointment.id,
        "calendarId": appointment.calendar_id,
        "locationId": appointment.location_id,
        "contactId": appointment.contact_id,
        "startTime": _local(appointment.start, state, appointment.calendar_id),
        "endTime": _local(appointment.end, state, appointment.calendar_id),
        "title": appointment.title,
        "meetingLocationType": appointment.extra.get("meetingLocationType", "default"),
        "appointmentStatus": appointment.status,
        "assignedUserId": appointment.assigned_user_id,
        "address": appointment.extra.get("address"),
        "isRecurring": False,
    }


def event_json(appointment: Appointment, state: GhlState) -> dict[str, Any]:
    """`CalendarEventDTO`: an appointment as `GET …/appointments/{id}` and contact lists show it."""
    users = [appointment.assigned_user_id] if appointment.assigned_user_id else []
    return {
        "id": appointment.id,
        "address": appointment.extra.get("address"),
        "title": appointment.title,
        "calendarId": appointment.calendar_id,
        "locationId": appointment.location_id,
        "contactId": appointment.contact_id,
        "groupId": None,
        "appointmentStatus": appointment.status,
        "assignedUserId": appointment.assigned_user_id,
        "users": users,
        "notes": appointment.extra.get("notes"),
        "description": appointment.extra.get("description"),
        "isRecurring": False,
        "startTime": _local(appointment.start, state, appointment.calendar_id),
        "endTime": _local(appointment.end, state, appointment.calendar_id),
        "dateAdded": stamp(appointment.date_added),
        "dateUpdated": stamp(appointment.date_updated),
    }


def custom_field_json(definition: CustomField) -> dict[str, Any]:
    """`CustomFieldSchema`."""
    return {
        "id": definition.id,
        "name": definition.name,
        "fieldKey": definition.field_key,
        "placeholder": "",
        "dataType": definition.data_type,
        "position": definition.position,
        "picklistOptions": list(definition.picklist_options),
        "picklistImageOptions": [],
        "isAllowedCustomOption": False,
        "isMultiFileAllowed": False,
        "maxFileLimit": 0,
        "locationId": definition.location_id,
        "model": definition.model,
    }


def location_json(location: Location) -> dict[str, Any]:
    """`GetLocationByIdSchema` (the fields the emulator knows)."""
    return {
        "id": location.id,
        "companyId": location.company_id,
        "name": location.name,
        "timezone": location.timezone,
        "email": location.email,
        "phone": location.phone,
        "settings": {"allowDuplicateContact": False, "allowDuplicateOpportunity": False},
    }


def contact_state(contact: Contact, state: GhlState) -> dict[str, Any]:
    """Everything tests ask about one contact, in one object (admin route, not GHL's API).

    `customFields` here is keyed by field key (`contact.pain_level`) when the definition is
    known, else by id; opportunities carry their stage's name.
    """
    definitions = state.custom_fields
    fields = {
        (definitions[fid].field_key if fid in definitions else fid): value
        for fid, value in contact.custom_fields.items()
    }
    opportunities = []
    for opportunity in state.opportunities_of(contact.id):
        pipeline = state.pipelines.get(opportunity.pipeline_id)
        stage = pipeline.stage(opportunity.stage_id) if pipeline is not None else None
        shown = opportunity_json(opportunity, state)
        shown["stageName"] = stage.name if stage is not None else None
        opportunities.append(shown)
    return {
        "contact": contact_json(contact),
        "tags": list(contact.tags),
        "customFields": fields,
        "dnd": contact.dnd,
        "dndSettings": {k: dict(v) for k, v in contact.dnd_settings.items()},
        "notes": [note_json(n) for n in state.notes_of(contact.id)],
        "opportunities": opportunities,
        "appointments": [event_json(a, state) for a in state.appointments_of(contact.id)],
    }
