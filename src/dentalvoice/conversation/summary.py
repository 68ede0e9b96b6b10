"""Short, spoken and written summaries of a qualification, and urgency from pain and flags."""

from __future__ import annotations

from datetime import datetime

from dentalvoice.conversation.qualification import (
    Availability,
    InsuranceStatus,
    Outcome,
    Qualification,
    TreatmentInterest,
    Urgency,
)

_TREATMENT_WORDS = {
    TreatmentInterest.IMPLANTS: "dental implants",
    TreatmentInterest.ALIGNERS: "clear aligners",
    TreatmentInterest.CLEANING_CHECKUP: "a cleaning and checkup",
    TreatmentInterest.WHITENING: "teeth whitening",
    TreatmentInterest.VENEERS: "veneers",
    TreatmentInterest.CROWNS_BRIDGES: "a crown or bridge",
    TreatmentInterest.ROOT_CANAL: "a root canal evaluation",
    TreatmentInterest.EXTRACTION: "an extraction",
    TreatmentInterest.DENTURES: "dentures",
    TreatmentInterest.EMERGENCY_PAIN: "tooth pain",
    TreatmentInterest.COSMETIC_CONSULT: "a cosmetic consultation",
    TreatmentInterest.PEDIATRIC: "a visit for your child",
    TreatmentInterest.OTHER: "a dental visit",
}
_DAY_NAMES = {
    "mon": "Mondays", "tue": "Tuesdays", "wed": "Wednesdays", "thu": "Thursdays",
    "fri": "Fridays", "sat": "Saturdays", "sun": "Sundays",
}  # fmt: skip


def urgency_of(q: Qualification) -> Urgency:
    """Emergency with red flags; otherwise by pain: 6+ urgent, 3+ soon, else routine."""
    if q.red_flags:
        return Urgency.EMERGENCY
    pain = q.pain_level or 0
    if pain >= 6:
        return Urgency.URGENT
    if pain >= 3 or q.treatment_interest is TreatmentInterest.EMERGENCY_PAIN:
        return Urgency.SOON
    return Urgency.ROUTINE


def _clock(hhmm: str) -> str:
    hour, minute = (int(x) for x in hhmm.split(":"))
    suffix = "am" if hour < 12 or hour == 24 else "pm"
    hour = hour % 12 or 12
    return f"{hour}{suffix}" if minute == 0 else f"{hour}:{minute:02d}{suffix}"


def describe_availability(a: Availability) -> str:
    """`Tuesdays, 12pm to 5pm` — or the caller's own words when nothing was structured."""
    days = [d.value for d in a.days]
    if days == ["mon", "tue", "wed", "thu", "fri"]:
        day_text = "weekdays"
    elif days == ["sat", "sun"]:
        day_text = "weekends"
    else:
        day_text = ", ".join(_DAY_NAMES[d] for d in days)
    windows = ", ".join(f"{_clock(w.start)} to {_clock(w.end)}" for w in a.windows)
    text = ", ".join(t for t in (day_text, windows) if t)
    return text or "any time"


def describe_slot(slot: datetime) -> str:
    """`Tuesday, November 25 at 2pm` in the slot's own zone."""
    clock = _clock(slot.strftime("%H:%M"))
    return f"{slot.strftime('%A, %B')} {slot.day} at {clock}"


def spoken_summary(q: Qualification, *, slot_held: bool = True) -> str:
    """One or two sentences read back to the caller for confirmation.

    `slot_held` False: the chosen slot is not held by the calendar yet, and is read back as
    requested, never as booked.
    """
    parts = []
    if q.treatment_interest is not None:
        parts.append(f"you're looking for {_TREATMENT_WORDS[q.treatment_interest]}")
    elif q.chief_complaint:
        parts.append(f"you called about {q.chief_complaint}")
    if q.pain_level is not None:
        parts.append("no pain" if q.pain_level == 0 else f"pain at about {q.pain_level} out of 10")
    if q.insurance.status is InsuranceStatus.HAS:
        parts.append(
            f"insurance with {q.insurance.carrier}" if q.insurance.carrier else "insurance"
        )
    elif q.insurance.status is InsuranceStatus.NONE:
        parts.append("no insurance")
    elif q.insurance.status is InsuranceStatus.UNSURE:
        carrier = f", maybe {q.insurance.carrier}" if q.insurance.carrier else ""
        parts.append(f"you're not sure about insurance{carrier}")
    if q.new_patient is not None:
        parts.append("you'd be a new patient" if q.new_patient else "you've been with us before")
    if q.preferred_slot is not None and slot_held:
        parts.append(f"booked for {describe_slot(q.preferred_slot)}")
    elif q.preferred_slot is not None:
        parts.append(f"{describe_slot(q.preferred_slot)} requested")
    elif q.availability is not None:
        parts.append(f"{describe_availability(q.availability)} works best")
    if not parts:
        return "I have your details."
    if len(parts) == 1:
        return f"So {parts[0]}."
    return f"So {', '.join(parts[:-1])}, and {parts[-1]}."


def note_summary(q: Qualification) -> str:
    """The short, factual summary written to the GHL note (no transcript)."""
    lines = []
    if q.outcome is not None:
        lines.append(f"Outcome: {q.outcome.value.replace('_', ' ')}.")
    if q.chief_complaint:
        lines.append(f"Complaint: {q.chief_complaint}.")
    if q.treatment_interest is not None:
        lines.append(f"Interest: {q.treatment_interest.value.replace('_', ' ')}.")
    if q.pain_level is not None:
        lines.append(f"Pain: {q.pain_level}/10.")
    if q.red_flags:
        lines.append(
            "Red flags: " + ", ".join(f.value.replace("_", " ") for f in q.red_flags) + "."
        )
    if q.urgency is not None:
        lines.append(f"Urgency: {q.urgency.value}.")
    if q.insurance.status is not None:
        carrier = f" ({q.insurance.carrier})" if q.insurance.carrier else ""
        lines.append(f"Insurance: {q.insurance.status.value}{carrier}.")
    if q.new_patient is not None:
        lines.append("New patient." if q.new_patient else "Existing patient.")
    if q.last_visit:
        lines.append(f"Last visit: {q.last_visit}.")
    if q.preferred_slot is not None and q.outcome is Outcome.BOOKING_PENDING:
        lines.append(f"Slot requested, not confirmed: {q.preferred_slot.isoformat()}.")
    elif q.preferred_slot is not None:
        lines.append(f"Booked: {q.preferred_slot.isoformat()}.")
    if q.availability is not None:
        lines.append(f"Availability: {describe_availability(q.availability)}.")
    if q.callback_time is not None:
        lines.append(f"Call back: {q.callback_time.isoformat()}.")
    return " ".join(lines)[:1000]
