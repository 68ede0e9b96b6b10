"""The note a call leaves on the GHL contact: what the front desk reads before calling back.

Pure. The summary, the key facts, red flags, the callback time and the booked slot (in the
clinic's zone), and a line saying an AI assistant handled the call. The transcript only when
the clinic's options ask for it (minimum necessary). The last line carries the write's marker,
so a note whose creation timed out can be recognised on the contact instead of added twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dentalvoice.conversation.qualification import InsuranceStatus, Qualification
from dentalvoice.conversation.summary import describe_availability, describe_slot, urgency_of
from dentalvoice.crm.writes import CallFacts

__all__ = ["AI_LINE", "MAX_NOTE_CHARS", "marker_line", "render_note"]

AI_LINE: Final = "This call was handled by an AI phone assistant, not by a person."
# GHL documents no limit; a bound keeps a long transcript from making the request fail.
MAX_NOTE_CHARS: Final = 12_000
_SPEAKERS: Final = {"agent": "Assistant", "caller": "Caller"}


def marker_line(marker: str) -> str:
    """The note's last line, which identifies the write that created it."""
    return f"Ref: {marker}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{describe_slot(local)} {local.tzname() or ''}".rstrip()


def _words(value: str) -> str:
    return value.replace("_", " ")


def _facts(q: Qualification) -> list[str]:
    lines = []
    if q.treatment_interest is not None:
        lines.append(f"Treatment interest: {_words(q.treatment_interest.value)}")
    if q.chief_complaint:
        lines.append(f"Complaint: {q.chief_complaint}")
    if q.pain_level is not None:
        lines.append(f"Pain level: {q.pain_level}/10")
    urgency = q.urgency
    if urgency is None and (q.red_flags or q.pain_level is not None):
        urgency = urgency_of(q)
    if urgency is not None:
        lines.append(f"Urgency: {urgency.value}")
    if q.red_flags:
        lines.append("RED FLAGS: " + ", ".join(_words(f.value) for f in q.red_flags))
    if q.insurance.status is not None:
        carrier = f" ({q.insurance.carrier})" if q.insurance.carrier else ""
        status = {InsuranceStatus.HAS: "yes", InsuranceStatus.NONE: "none"}.get(
            q.insurance.status, "not sure"
        )
        lines.append(f"Insurance: {status}{carrier}")
    if q.new_patient is not None:
        lines.append(f"New patient: {'yes' if q.new_patient else 'no'}")
    if q.last_visit:
        lines.append(f"Last visit: {q.last_visit}")
    if q.availability is not None:
        lines.append(f"Availability: {describe_availability(q.availability)}")
    return lines


def render_note(
    facts: CallFacts,
    *,
    clinic_name: str,
    timezone: str,
    marker: str,
    include_transcript: bool = False,
) -> str:
    """The note body for an answered call.

    Args:
        facts: The call.
        clinic_name: Whose assistant called.
        timezone: The clinic's IANA zone; times are written in it.
        marker: The write's marker (the last line).
        include_transcript: Append the conversation (the clinic opted in).

    Returns:
        The body, at most `MAX_NOTE_CHARS` characters, ending with the marker line.
    """
    zone = _zone(timezone)
    q = facts.qualification
    outcome = facts.outcome or q.outcome
    lines = [f"AI call summary ({clinic_name})", AI_LINE]
    lines.append(f"Outcome: {_words(outcome.value) if outcome else 'not determined'}")
    if q.summary:
        lines.append(f"Summary: {q.summary}")
    lines.extend(_facts(q))
    slot = facts.booked_slot_at or q.preferred_slot
    if slot is not None:
        booked = (
            "booked in the calendar"
            if facts.ghl_appointment_id
            else "chosen on the call, not confirmed yet"
        )
        lines.append(f"Appointment: {_when(slot, zone)} ({booked})")
    callback = facts.callback_at or q.callback_time
    if callback is not None:
        lines.append(f"Call back: {_when(callback, zone)}")
    if facts.transfer_reason:
        status = f" ({_words(facts.transfer_status)})" if facts.transfer_status else ""
        lines.append(f"Transfer to the front desk: {facts.transfer_reason}{status}")
    if facts.opted_out:
        lines.append("Asked not to be called again: Call DND set.")
    tail = marker_line(marker)
    body = "\n".join(lines)
    if include_transcript and facts.transcript:
        spoken = "\n".join(f"{_SPEAKERS.get(s, s)}: {text}" for s, text in facts.transcript)
        room = MAX_NOTE_CHARS - len(body) - len(tail) - 40
        if room > 0:
            if len(spoken) > room:
                spoken = spoken[:room].rstrip() + " […]"
            body += "\n\nTranscript:\n" + spoken
    body = body[: MAX_NOTE_CHARS - len(tail) - 2]
    return f"{body}\n\n{tail}"
