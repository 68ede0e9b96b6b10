"""A call's result → its GHL writes: which, with what, and under which keys (pure)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from dentalvoice.conversation.qualification import Outcome, Qualification, RedFlag
from dentalvoice.crm.mapping import (
    attempt_writes,
    call_writes,
    effective_outcome,
    opt_out_writes,
    write_key,
)
from dentalvoice.crm.options import ClinicCrm, CrmOptions
from dentalvoice.crm.writes import (
    AddTags,
    AttemptFacts,
    BookAppointment,
    CallFacts,
    CreateNote,
    MoveOpportunity,
    PlannedWrite,
    SetCallDnd,
    SetFields,
    WriteKind,
    parse_op,
)
from dentalvoice.demo.clinic import FIELD_KEYS
from tests.crm.rig import SLOT, qualification

ATTEMPT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def clinic(**crm: Any) -> ClinicCrm:
    return ClinicCrm(
        options=CrmOptions.model_validate(crm),
        pipeline_id="pipe1",
        stages={Outcome.BOOKED: "stage-booked", Outcome.QUALIFIED: "stage-qualified"},
        calendar_id="cal1",
        timezone="America/New_York",
        clinic_name="Sunrise Dental",
    )


def facts(q: Qualification, **values: Any) -> CallFacts:
    return CallFacts(
        attempt_id=ATTEMPT,
        outcome=q.outcome,
        qualification=q,
        booked_slot_at=q.preferred_slot,
        contact_name="Avery Stone",
        **values,
    )


def by_name(writes: list[PlannedWrite]) -> dict[str, Any]:
    return {w.key.split(":", 1)[1]: w.op for w in writes}


def test_a_qualified_call_writes_fields_tags_note_and_stage() -> None:
    writes = call_writes(facts(qualification(Outcome.QUALIFIED)), clinic(fields=FIELD_KEYS))

    ops = by_name(writes)
    assert sorted(ops) == ["fields", "note", "opportunity", "tags"]
    assert ops["fields"] == SetFields(
        fields={
            "contact.ai_pain_level": 4,
            "contact.ai_urgency": "soon",
            "contact.ai_insurance_carrier": "Delta Dental",
            "contact.ai_treatment_interest": "implants",
            "contact.ai_last_call_outcome": "qualified",
        }
    )
    assert ops["tags"] == AddTags(tags=["ai-qualified"])
    assert ops["opportunity"] == MoveOpportunity(
        pipeline_id="pipe1", stage_id="stage-qualified", name="Avery Stone"
    )
    assert isinstance(ops["note"], CreateNote)
    assert all(w.key == write_key(ATTEMPT, name) for name, w in zip(ops, writes, strict=True))
    # Fields and tags before the note, the stage last.
    order = {w.kind: w.seq for w in writes}
    assert order[WriteKind.SET_FIELDS] < order[WriteKind.CREATE_NOTE]
    assert order[WriteKind.ADD_TAGS] < order[WriteKind.CREATE_NOTE]
    assert order[WriteKind.CREATE_NOTE] < order[WriteKind.MOVE_OPPORTUNITY]


def test_the_plan_is_the_same_every_time() -> None:
    one = call_writes(facts(qualification(Outcome.BOOKED)), clinic(fields=FIELD_KEYS))
    two = call_writes(facts(qualification(Outcome.BOOKED)), clinic(fields=FIELD_KEYS))
    assert one == two


def test_a_slot_the_call_did_not_book_is_booked_by_the_write_back() -> None:
    ops = by_name(call_writes(facts(qualification(Outcome.BOOKED)), clinic()))
    assert ops["appointment"] == BookAppointment(
        calendar_id="cal1",
        start=SLOT,
        timezone="America/New_York",
        title="Booked by the AI phone assistant",
    )
    held = facts(qualification(Outcome.BOOKED), ghl_appointment_id="apt1")
    assert "appointment" not in by_name(call_writes(held, clinic()))
    assert "appointment" not in by_name(
        call_writes(facts(qualification(Outcome.BOOKED)), clinic(book_appointments=False))
    )
    no_calendar = dataclasses.replace(clinic(), calendar_id=None)
    assert "appointment" not in by_name(
        call_writes(facts(qualification(Outcome.BOOKED)), no_calendar)
    )


def test_an_opt_out_shares_its_keys_with_the_mid_call_writes() -> None:
    mid_call = opt_out_writes(ATTEMPT, CrmOptions())
    after = call_writes(facts(qualification(Outcome.OPTED_OUT)), clinic())

    assert [(w.key, w.op) for w in mid_call] == [
        (write_key(ATTEMPT, "call_dnd"), SetCallDnd()),
        (write_key(ATTEMPT, "opt_out_tags"), AddTags(tags=["ai-opted-out"])),
    ]
    assert all(write in after for write in mid_call)
    # The outcome's tags are the opt-out's: no second tag write.
    assert "tags" not in by_name(after)


def test_an_opt_out_during_another_outcome_still_sets_call_dnd() -> None:
    q = qualification(Outcome.NOT_INTERESTED, opted_out=True)
    ops = by_name(call_writes(facts(q), clinic()))
    assert ops["call_dnd"] == SetCallDnd()
    assert ops["opt_out_tags"] == AddTags(tags=["ai-opted-out"])
    assert ops["tags"] == AddTags(tags=["ai-not-interested"])


def test_no_stage_move_without_a_stage_for_the_outcome() -> None:
    ops = by_name(call_writes(facts(qualification(Outcome.WRONG_NUMBER)), clinic()))
    assert "opportunity" not in ops


def test_without_an_outcome_the_call_counts_as_incomplete() -> None:
    f = facts(qualification(None))
    assert effective_outcome(f) is Outcome.INCOMPLETE
    assert by_name(call_writes(f, clinic()))["tags"] == AddTags(tags=["ai-needs-follow-up"])


def test_unknown_values_are_not_written_as_blanks() -> None:
    q = Qualification(outcome=Outcome.CALLBACK_REQUESTED, red_flags=[RedFlag.TRAUMA])
    ops = by_name(call_writes(facts(q), clinic(fields=FIELD_KEYS)))
    assert ops["fields"] == SetFields(
        fields={
            "contact.ai_urgency": "emergency",
            "contact.ai_last_call_outcome": "callback_requested",
        }
    )


def test_a_disabled_note_and_empty_tags_are_left_out() -> None:
    ops = by_name(
        call_writes(
            facts(qualification(Outcome.QUALIFIED)),
            clinic(note={"enabled": False}, tags={"qualified": []}),
        )
    )
    assert sorted(ops) == ["opportunity"]


@pytest.mark.parametrize(
    ("outcome", "left", "tag"),
    [
        ("no_answer", False, "ai-no-answer"),
        ("busy", False, "ai-no-answer"),
        ("voicemail", True, "ai-voicemail"),
        ("voicemail", False, "ai-no-answer"),
    ],
)
def test_an_unanswered_dial_writes_a_tag_and_the_last_outcome_only(
    outcome: str, left: bool, tag: str
) -> None:
    f = AttemptFacts(attempt_id=ATTEMPT, outcome=outcome, voicemail_left=left)  # type: ignore[arg-type]
    ops = by_name(attempt_writes(f, CrmOptions.model_validate({"fields": FIELD_KEYS})))
    assert ops == {
        "unanswered_tags": AddTags(tags=[tag]),
        "unanswered_fields": SetFields(fields={"contact.ai_last_call_outcome": outcome}),
    }
    assert by_name(attempt_writes(f, CrmOptions())) == {"unanswered_tags": AddTags(tags=[tag])}


def test_every_write_reads_back_from_its_payload() -> None:
    q = qualification(Outcome.OPTED_OUT, preferred_slot=SLOT)
    for write in call_writes(facts(q), clinic(fields=FIELD_KEYS)):
        assert parse_op(write.op.model_dump(mode="json")) == write.op


def test_the_preferred_slot_field_is_in_the_clinics_zone() -> None:
    slot = datetime(2030, 1, 8, 15, 0, tzinfo=UTC)
    q = qualification(Outcome.BOOKED, preferred_slot=slot)
    ops = by_name(call_writes(facts(q), clinic(fields=FIELD_KEYS)))
    assert ops["fields"].fields["contact.ai_preferred_slot"] == "2030-01-08T10:00-05:00"


def test_a_team_calendar_books_the_clinics_member() -> None:
    # The same option the call's own booking reads; it must not make the options invalid.
    ops = by_name(
        call_writes(facts(qualification(Outcome.BOOKED)), clinic(calendar_user_id="user-7"))
    )
    assert ops["appointment"].assigned_user_id == "user-7"
