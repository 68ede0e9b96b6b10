"""The note a call leaves on the contact: the facts, the AI line, no transcript by default."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dentalvoice.conversation.qualification import Outcome, Qualification, RedFlag, Urgency
from dentalvoice.crm.note import AI_LINE, MAX_NOTE_CHARS, marker_line, render_note
from dentalvoice.crm.writes import CallFacts
from tests.crm.rig import TRANSCRIPT, qualification

ATTEMPT = uuid.UUID("00000000-0000-4000-8000-000000000002")
MARKER = f"dv:{ATTEMPT}:note"


def note(facts: CallFacts, *, transcript: bool = False) -> str:
    return render_note(
        facts,
        clinic_name="Sunrise Dental",
        timezone="America/New_York",
        marker=MARKER,
        include_transcript=transcript,
    )


def test_the_note_has_the_summary_key_facts_and_the_ai_line() -> None:
    q = qualification(Outcome.BOOKED)
    body = note(CallFacts(attempt_id=ATTEMPT, outcome=q.outcome, qualification=q))

    lines = body.splitlines()
    assert lines[0] == "AI call summary (Sunrise Dental)"
    assert AI_LINE in lines
    for expected in (
        "Outcome: booked",
        "Summary: Wants implants; mild gum pain for a week.",
        "Treatment interest: implants",
        "Pain level: 4/10",
        "Urgency: soon",
        "Insurance: yes (Delta Dental)",
        "New patient: yes",
        "Appointment: Tuesday, January 8 at 10am EST (chosen on the call, not confirmed yet)",
    ):
        assert expected in lines, expected
    assert lines[-1] == marker_line(MARKER)
    assert "Transcript" not in body
    assert TRANSCRIPT[1][1] not in body


def test_red_flags_callback_and_transfer_are_spelled_out_in_the_clinics_zone() -> None:
    q = Qualification(
        outcome=Outcome.EMERGENCY_AFTER_HOURS,
        red_flags=[RedFlag.SWELLING_WITH_FEVER, RedFlag.TRAUMA],
        pain_level=9,
    )
    facts = CallFacts(
        attempt_id=ATTEMPT,
        outcome=q.outcome,
        qualification=q,
        callback_at=datetime(2030, 7, 9, 13, 30, tzinfo=UTC),
        transfer_reason="emergency",
        transfer_status="no_number",
    )
    body = note(facts)
    assert "RED FLAGS: swelling with fever, trauma" in body
    assert f"Urgency: {Urgency.EMERGENCY.value}" in body
    assert "Call back: Tuesday, July 9 at 9:30am EDT" in body
    assert "Transfer to the front desk: emergency (no number)" in body


def test_a_booked_slot_held_by_the_call_says_so() -> None:
    q = qualification(Outcome.BOOKED)
    facts = CallFacts(
        attempt_id=ATTEMPT,
        outcome=q.outcome,
        qualification=q,
        booked_slot_at=q.preferred_slot,
        ghl_appointment_id="apt1",
    )
    assert "(booked in the calendar)" in note(facts)


def test_the_transcript_only_when_asked_and_the_marker_survives_a_long_one() -> None:
    q = qualification(Outcome.QUALIFIED)
    facts = CallFacts(attempt_id=ATTEMPT, qualification=q, transcript=TRANSCRIPT)
    assert "Transcript" not in note(facts)
    with_it = note(facts, transcript=True)
    assert "Caller: Hi, yes, I'd like implants" in with_it
    assert "Assistant: Hi, this is Ava" in with_it

    long = CallFacts(
        attempt_id=ATTEMPT, qualification=q, transcript=[("caller", "word " * 5000)] * 3
    )
    body = note(long, transcript=True)
    assert len(body) <= MAX_NOTE_CHARS
    assert body.endswith(marker_line(MARKER))
    assert "[…]" in body


def test_an_opt_out_is_noted() -> None:
    q = qualification(Outcome.OPTED_OUT)
    assert "Call DND set" in note(CallFacts(attempt_id=ATTEMPT, outcome=q.outcome, qualification=q))
