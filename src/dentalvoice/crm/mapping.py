"""A call's result → the GHL writes that record it (pure: no I/O, no clock).

Every write gets a key `<attempt id>:<name>` that is the same whoever plans it and however
often, so the outbox stores each write once:

- an opt-out said mid-call (`opt_out_writes`) and the call's later write-back both produce
  `…:call_dnd` and `…:opt_out_tags`, so GHL gets one of each;
- an answered call (`call_writes`): custom fields, outcome tags, the appointment the call chose
  but could not book, the note, the opportunity's stage;
- an unanswered dial (`attempt_writes`): a tag and the last-outcome field only; no note.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dentalvoice.conversation.qualification import Outcome, Qualification
from dentalvoice.conversation.summary import urgency_of
from dentalvoice.crm.note import render_note
from dentalvoice.crm.options import ClinicCrm, CrmOptions, FieldKeys
from dentalvoice.crm.writes import (
    AddTags,
    AttemptFacts,
    BookAppointment,
    CallFacts,
    CreateNote,
    FieldValue,
    MoveOpportunity,
    PlannedWrite,
    SetCallDnd,
    SetFields,
)

__all__ = [
    "APPOINTMENT_TITLE",
    "DEFAULT_OPPORTUNITY_NAME",
    "attempt_writes",
    "call_writes",
    "effective_outcome",
    "note_marker",
    "opt_out_writes",
    "write_key",
]

APPOINTMENT_TITLE = "Booked by the AI phone assistant"
DEFAULT_OPPORTUNITY_NAME = "New patient lead"


def write_key(attempt_id: uuid.UUID, name: str) -> str:
    """The idempotency key of one of an attempt's writes."""
    return f"{attempt_id}:{name}"


def note_marker(attempt_id: uuid.UUID) -> str:
    """What identifies the call's note among the contact's notes."""
    return f"dv:{write_key(attempt_id, 'note')}"


def effective_outcome(facts: CallFacts) -> Outcome:
    """The outcome GHL is told: the record's, else the qualification's, else incomplete."""
    return facts.outcome or facts.qualification.outcome or Outcome.INCOMPLETE


def opt_out_writes(attempt_id: uuid.UUID, options: CrmOptions) -> list[PlannedWrite]:
    """Call DND and the opted-out tags: what an opt-out writes, mid-call or afterwards."""
    writes = [PlannedWrite(write_key(attempt_id, "call_dnd"), SetCallDnd())]
    tags = options.tags_for(Outcome.OPTED_OUT)
    if tags:
        writes.append(PlannedWrite(write_key(attempt_id, "opt_out_tags"), AddTags(tags=tags)))
    return writes


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_iso(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="minutes")


# Outcomes whose qualification's `preferred_slot` is a slot the caller chose (by value: the
# pending one is newer than some of the code that reads this).
_SLOT_CHOSEN = frozenset({"booked", "booking_pending"})


def _chosen_slot(facts: CallFacts, outcome: Outcome) -> datetime | None:
    # The slot the call's BookSlot action chose; a qualification that says "booked" without
    # one still carries the slot the caller agreed to.
    if facts.booked_slot_at is not None:
        return facts.booked_slot_at
    return facts.qualification.preferred_slot if outcome.value in _SLOT_CHOSEN else None


def _field_values(
    keys: FieldKeys, q: Qualification, outcome: Outcome, slot: datetime | None, zone: ZoneInfo
) -> dict[str, FieldValue]:
    urgency = q.urgency
    if urgency is None and (q.red_flags or q.pain_level is not None):
        urgency = urgency_of(q)
    values: dict[str | None, FieldValue | None] = {
        keys.pain_level: q.pain_level,
        keys.urgency: urgency.value if urgency else None,
        keys.insurance_carrier: q.insurance.carrier,
        keys.treatment_interest: q.treatment_interest.value if q.treatment_interest else None,
        keys.preferred_slot: _local_iso(slot, zone) if slot is not None else None,
        keys.last_call_outcome: outcome.value,
    }
    # An unknown value is left as GHL has it rather than cleared.
    return {key: value for key, value in values.items() if key is not None and value is not None}


def call_writes(facts: CallFacts, clinic: ClinicCrm) -> list[PlannedWrite]:
    """The writes of an answered call, in no particular order (the outbox orders them).

    Args:
        facts: The call.
        clinic: The clinic's options, pipeline, calendar and zone.

    Returns:
        The writes; the same facts and clinic always give the same keys and payloads.
    """
    options = clinic.options
    attempt = facts.attempt_id
    outcome = effective_outcome(facts)
    zone = _zone(clinic.timezone)
    slot = _chosen_slot(facts, outcome)
    writes: list[PlannedWrite] = []
    opt_out_tags: list[str] = []
    if facts.opted_out:
        planned = opt_out_writes(attempt, options)
        writes.extend(planned)
        opt_out_tags = options.tags_for(Outcome.OPTED_OUT)
    fields = _field_values(options.fields, facts.qualification, outcome, slot, zone)
    if fields:
        writes.append(PlannedWrite(write_key(attempt, "fields"), SetFields(fields=fields)))
    tags = [t for t in options.tags_for(outcome) if t not in opt_out_tags]
    if tags:
        writes.append(PlannedWrite(write_key(attempt, "tags"), AddTags(tags=tags)))
    if (
        slot is not None
        and facts.ghl_appointment_id is None
        and clinic.calendar_id
        and options.book_appointments
    ):
        booking = BookAppointment(
            calendar_id=clinic.calendar_id,
            start=slot,
            timezone=clinic.timezone,
            title=APPOINTMENT_TITLE,
            assigned_user_id=options.calendar_user_id,
        )
        writes.append(PlannedWrite(write_key(attempt, "appointment"), booking))
    if options.note.enabled:
        marker = note_marker(attempt)
        body = render_note(
            facts,
            clinic_name=clinic.clinic_name,
            timezone=clinic.timezone,
            marker=marker,
            include_transcript=options.note.include_transcript,
        )
        note = CreateNote(title=options.note.title, body=body, marker=marker)
        writes.append(PlannedWrite(write_key(attempt, "note"), note))
    stage = clinic.stages.get(outcome)
    if clinic.pipeline_id and stage:
        move = MoveOpportunity(
            pipeline_id=clinic.pipeline_id,
            stage_id=stage,
            name=facts.contact_name or DEFAULT_OPPORTUNITY_NAME,
        )
        writes.append(PlannedWrite(write_key(attempt, "opportunity"), move))
    return writes


def attempt_writes(facts: AttemptFacts, options: CrmOptions) -> list[PlannedWrite]:
    """The writes of an unanswered dial: its tag and the last-outcome field, no note."""
    attempt = facts.attempt_id
    writes: list[PlannedWrite] = []
    tags = options.voicemail_tags if facts.voicemail_left else options.no_answer_tags
    if tags:
        writes.append(PlannedWrite(write_key(attempt, "unanswered_tags"), AddTags(tags=list(tags))))
    if options.fields.last_call_outcome:
        fields: dict[str, FieldValue] = {options.fields.last_call_outcome: facts.outcome}
        writes.append(
            PlannedWrite(write_key(attempt, "unanswered_fields"), SetFields(fields=fields))
        )
    return writes
