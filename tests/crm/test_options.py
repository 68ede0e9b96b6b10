"""A clinic's CRM options: defaults, overrides, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from dentalvoice.conversation.qualification import Outcome
from dentalvoice.crm.options import (
    DEFAULT_OUTCOME_TAGS,
    CrmConfigError,
    CrmOptions,
    clinic_crm,
    crm_options,
)
from dentalvoice.locations.models import Location


def clinic(options: dict[str, Any] | None = None, **columns: Any) -> Location:
    values: dict[str, Any] = {
        "name": "Sunrise Dental",
        "ghl_location_id": "LocOpt00000000000001",
        "timezone": "America/New_York",
        "pipeline_id": "pipeA",
        "pipeline_stages": {"booked": "stage-booked", "qualified": "stage-qualified"},
        "calendar_id": "cal1",
        "options": options if options is not None else {},
    }
    values.update(columns)
    return Location(**values)


def test_no_crm_options_means_the_defaults() -> None:
    options = crm_options(clinic({"require_consent": True}))
    assert options == CrmOptions()
    assert options.tags_for(Outcome.BOOKED) == ["ai-qualified", "ai-booked"]
    assert options.tags_for(Outcome.EMERGENCY_AFTER_HOURS) == ["ai-emergency"]
    assert options.tags_for(Outcome.TECHNICAL_TRANSFER) == ["ai-needs-follow-up"]
    assert options.no_answer_tags == ["ai-no-answer"]
    assert options.voicemail_tags == ["ai-voicemail"]
    assert options.fields.pain_level is None  # no key: the field is not written
    assert not options.note.include_transcript


def test_every_outcome_has_default_tags() -> None:
    for outcome in Outcome:
        assert CrmOptions().tags_for(outcome), outcome
        assert outcome.value in DEFAULT_OUTCOME_TAGS, outcome


def test_an_outcome_named_in_the_options_replaces_its_default_tags_only() -> None:
    options = crm_options(clinic({"crm": {"tags": {"booked": ["vip"], "not_interested": []}}}))
    assert options.tags_for(Outcome.BOOKED) == ["vip"]
    assert options.tags_for(Outcome.NOT_INTERESTED) == []
    assert options.tags_for(Outcome.QUALIFIED) == ["ai-qualified"]


@pytest.mark.parametrize(
    ("crm", "field"),
    [
        ({"fields": {"pain_level": "pain level"}}, "crm.fields.pain_level"),
        ({"fields": {"mood": "contact.mood"}}, "crm.fields.mood"),
        ({"tags": {"bookd": ["x"]}}, "crm.tags.bookd"),
        ({"tags": {"booked": [""]}}, "crm.tags.booked.0"),
        ({"note": {"include_transcript": "perhaps"}}, "crm.note.include_transcript"),
        ({"colour": "blue"}, "crm.colour"),
        ({"stages": {"qualified": ""}}, "crm.stages.qualified"),
    ],
)
def test_invalid_options_name_the_field(crm: dict[str, Any], field: str) -> None:
    with pytest.raises(CrmConfigError) as caught:
        crm_options(clinic({"crm": crm}))
    message = str(caught.value)
    assert field in message
    assert "LocOpt00000000000001" in message
    assert "blue" not in message and "perhaps" not in message  # names, not values


def test_stages_fall_back_to_the_clinics_pipeline() -> None:
    merged = clinic_crm(clinic({"crm": {"stages": {"booked": "stage-vip"}}}))
    assert merged.pipeline_id == "pipeA"
    assert merged.stages == {Outcome.BOOKED: "stage-vip", Outcome.QUALIFIED: "stage-qualified"}
    assert (merged.calendar_id, merged.timezone, merged.clinic_name) == (
        "cal1",
        "America/New_York",
        "Sunrise Dental",
    )
    other = clinic_crm(clinic({"crm": {"pipeline_id": "pipeB"}}))
    assert other.pipeline_id == "pipeB"


def test_a_pipeline_stage_for_no_outcome_is_a_configuration_error() -> None:
    with pytest.raises(CrmConfigError, match="pipeline_stages.bookd"):
        clinic_crm(clinic(pipeline_stages={"bookd": "s1"}))


def test_the_team_member_for_bookings_is_a_crm_option() -> None:
    """The in-call calendar reads the same key (`voice/context.py`): it is valid here too."""
    options = crm_options(clinic({"crm": {"calendar_user_id": "user-7"}}))
    assert options.calendar_user_id == "user-7"
