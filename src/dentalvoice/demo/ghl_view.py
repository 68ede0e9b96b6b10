"""What GHL shows for the demo lead after the call: read from the emulator's state.

The contact's tags, custom fields by their display names, call DND, the opportunity's stage,
appointments in the calendar's zone and the notes: what the agency's staff would see on the
contact's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from dentalvoice.emulators.ghl import GhlEmulator


@dataclass(frozen=True, slots=True)
class LeadInGhl:
    """One contact as GHL shows it.

    Attributes:
        name: First and last name.
        tags: In GHL's order (lower-cased, as GHL stores them).
        fields: Custom-field display name → value.
        call_dnd: Whether calls to the contact are blocked (DND on the Call channel).
        stages: Each opportunity as "pipeline: stage (status)".
        appointments: Each as "Wed 2026-11-25 14:00 EST, confirmed".
        notes: Note bodies, oldest first.
    """

    name: str
    tags: list[str]
    fields: dict[str, Any]
    call_dnd: bool
    stages: list[str]
    appointments: list[str]
    notes: list[str]


def lead_in_ghl(emulator: GhlEmulator, contact_id: str) -> LeadInGhl:
    """Read the contact from the emulator.

    Raises:
        KeyError: No such contact.
    """
    state = emulator.state
    contact = state.contacts[contact_id]
    definitions = state.custom_fields
    fields = {
        (definitions[fid].name if fid in definitions else fid): value
        for fid, value in contact.custom_fields.items()
    }
    stages = []
    for opportunity in state.opportunities_of(contact_id):
        pipeline = state.pipelines.get(opportunity.pipeline_id)
        stage = pipeline.stage(opportunity.stage_id) if pipeline is not None else None
        stages.append(
            f"{pipeline.name if pipeline else opportunity.pipeline_id}: "
            f"{stage.name if stage else opportunity.stage_id} ({opportunity.status})"
        )
    appointments = []
    for appointment in state.appointments_of(contact_id):
        calendar = state.calendars.get(appointment.calendar_id)
        zone = ZoneInfo(state.calendar_zone(calendar)) if calendar is not None else None
        local = appointment.start.astimezone(zone)
        when = f"{local:%a %Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()
        appointments.append(f"{when}, {appointment.status}")
    call = contact.dnd_settings.get("Call", {})
    return LeadInGhl(
        name=" ".join(filter(None, [contact.first_name, contact.last_name])),
        tags=list(contact.tags),
        fields=fields,
        call_dnd=contact.dnd or call.get("status") == "active",
        stages=stages,
        appointments=appointments,
        notes=[note.body for note in state.notes_of(contact_id)],
    )
