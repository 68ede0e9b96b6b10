"""The demo clinic on both sides: a GHL sub-account in the emulator, and our location for it.

GHL's side is what an agency would have set up: a private integration token, the custom
fields the call fills, a new-patient pipeline, the lead as a contact with an opportunity in
"New Lead" (the ad form's workflow put it there), and, when the scenario lists free slots, a
calendar open at exactly those slots. Ours is the location row that points at it: the token,
the calendar, the pipeline's stages per outcome and the CRM mapping of fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from dentalvoice.conversation.evaluation.scenario import Scenario
from dentalvoice.conversation.qualification import Outcome
from dentalvoice.emulators.ghl import GhlEmulator
from dentalvoice.locations.schemas import LocationCreate, LocationOptions

GHL_LOCATION: Final = "LocDemo0000000000001"
SLOT_MINUTES: Final = 30
PIPELINE: Final = "New Patients"
STAGES: Final = (
    "New Lead",
    "Contacted",
    "Qualified",
    "Appointment Booked",
    "Emergency",
    "Not Interested",
)
STAGE_OF: Final[dict[Outcome, str]] = {
    Outcome.QUALIFIED: "Qualified",
    Outcome.BOOKED: "Appointment Booked",
    Outcome.BOOKING_PENDING: "Qualified",  # the team still has to confirm the slot
    Outcome.EMERGENCY_TRANSFERRED: "Emergency",
    Outcome.EMERGENCY_AFTER_HOURS: "Emergency",
    Outcome.CALLBACK_REQUESTED: "Contacted",
    Outcome.NOT_INTERESTED: "Not Interested",
    Outcome.OPTED_OUT: "Not Interested",
    Outcome.INCOMPLETE: "Contacted",
    Outcome.TECHNICAL_TRANSFER: "Contacted",
}
# Our field (`crm.fields`) → the GHL custom field: display name, key, data type.
FIELDS: Final[dict[str, tuple[str, str, str]]] = {
    "pain_level": ("Pain level", "contact.ai_pain_level", "NUMERICAL"),
    "urgency": ("Urgency", "contact.ai_urgency", "TEXT"),
    "insurance_carrier": ("Insurance carrier", "contact.ai_insurance_carrier", "TEXT"),
    "treatment_interest": ("Treatment interest", "contact.ai_treatment_interest", "TEXT"),
    "preferred_slot": ("Preferred appointment", "contact.ai_preferred_slot", "TEXT"),
    "last_call_outcome": ("Last AI call outcome", "contact.ai_last_call_outcome", "TEXT"),
}
# What a location seeded with `FIELDS` sets as its `crm.fields`: our field → the GHL key.
FIELD_KEYS: Final[dict[str, str]] = {field: key for field, (_, key, _) in FIELDS.items()}


@dataclass(frozen=True, slots=True)
class DemoClinic:
    """What the demo seeded in GHL and how our location is configured for it."""

    contact_id: str
    calendar_id: str | None
    location: LocationCreate


def seed_clinic(
    emulator: GhlEmulator,
    *,
    scenario: Scenario,
    contact_id: str,
    phone: str,
    transfer_number: str | None,
) -> DemoClinic:
    """Seed the scenario's clinic and lead in the emulator; return our location for it.

    Args:
        emulator: The GHL emulator (empty).
        scenario: Its clinic, lead, free slots and calendar behaviour.
        contact_id: The GHL contact id the lead's webhook will carry.
        phone: The lead's number.
        transfer_number: Where our location sends transfers (None: nobody to take one).
    """
    spec = scenario.location
    location = emulator.seed_location(id=GHL_LOCATION, name=spec.name, timezone=spec.timezone)
    pit = emulator.seed_pit(location_id=location.id, name="dentalvoice-demo")
    for name, key, data_type in FIELDS.values():
        emulator.seed_custom_field(
            location_id=location.id, name=name, field_key=key, data_type=data_type
        )
    pipeline = emulator.seed_pipeline(location_id=location.id, name=PIPELINE, stages=STAGES)
    emulator.seed_contact(
        location_id=location.id,
        id=contact_id,
        first_name=scenario.lead.first_name,
        last_name=scenario.lead.last_name,
        phone=phone,
        tags=["new lead", "facebook ad"],
        source="facebook ad form",
    )
    emulator.seed_opportunity(
        contact_id=contact_id,
        pipeline=pipeline.id,
        stage="New Lead",
        name=f"{scenario.lead.first_name or 'Lead'} - new patient",
    )
    calendar_id = _seed_calendar(emulator, scenario=scenario, location_id=location.id)
    stage_ids = {stage.name: stage.id for stage in pipeline.stages}
    ours = LocationCreate(
        name=spec.name,
        ghl_location_id=location.id,
        timezone=spec.timezone,
        ghl_token=pit.token,
        transfer_number=transfer_number,
        calendar_id=calendar_id,
        pipeline_id=pipeline.id,
        pipeline_stages={outcome.value: stage_ids[name] for outcome, name in STAGE_OF.items()},
        options=LocationOptions.model_validate({"crm": {"fields": FIELD_KEYS}}),
    )
    return DemoClinic(contact_id=contact_id, calendar_id=calendar_id, location=ours)


def _seed_calendar(emulator: GhlEmulator, *, scenario: Scenario, location_id: str) -> str | None:
    # Without free slots the scenario's clinic has no calendar: the agent takes a preference
    # and promises a call-back, as the text evaluation's agent does.
    if not scenario.free_slots:
        return None
    zone = ZoneInfo(scenario.location.timezone)
    length = timedelta(minutes=SLOT_MINUTES)
    hours: dict[date | str, list[tuple[str, str]]] = {}
    for slot in scenario.free_slots:
        local = slot.astimezone(zone)
        hours.setdefault(local.date(), []).append(
            (local.time().isoformat("minutes"), (local + length).time().isoformat("minutes"))
        )
    taken = scenario.calendar.taken if scenario.calendar is not None else []
    calendar = emulator.seed_calendar(
        location_id=location_id,
        name="New Patient Consult",
        open_hours={},
        date_hours=hours,
        slot_minutes=SLOT_MINUTES,
        stale_starts=taken,
    )
    if taken:
        # Someone else's booking, made after the agent's list was fetched.
        other = emulator.seed_contact(
            location_id=location_id, first_name="Alex", last_name="Other", phone="+13055550188"
        )
        for start in taken:
            emulator.seed_appointment(calendar_id=calendar.id, contact_id=other.id, start=start)
    if scenario.calendar is not None and scenario.calendar.down:
        emulator.inject_fault(
            status=503, count=None, method="POST", path="/calendars/events/appointments"
        )
    return calendar.id
