"""What a clinic writes back to GHL after a call: tags, custom-field keys, stages, the note.

Read from `Location.options["crm"]`; everything has a default, so a clinic with no `crm`
options still gets tags and a note. Custom fields are written only for keys the clinic names
(a key GHL does not have parks that write as failed, naming the key). Stages fall back to the
clinic's `pipeline_id` / `pipeline_stages`.

```json
{"crm": {
   "tags": {"booked": ["ai-booked", "vip"]},
   "fields": {"pain_level": "contact.ai_pain_level", "last_call_outcome": "contact.ai_outcome"},
   "pipeline_id": "…", "stages": {"booked": "<stage id>"},
   "note": {"include_transcript": false}}}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dentalvoice.conversation.qualification import Outcome
from dentalvoice.errors import DentalVoiceError
from dentalvoice.locations.models import Location

__all__ = [
    "DEFAULT_OUTCOME_TAGS",
    "ClinicCrm",
    "CrmConfigError",
    "CrmOptions",
    "FieldKeys",
    "NoteOptions",
    "clinic_crm",
    "crm_options",
]

QUALIFIED_TAG: Final = "ai-qualified"
FOLLOW_UP_TAG: Final = "ai-needs-follow-up"
# By outcome value, so an outcome added later (it gets the follow-up tag) never breaks a call.
DEFAULT_OUTCOME_TAGS: Final[dict[str, tuple[str, ...]]] = {
    "qualified": (QUALIFIED_TAG,),
    "booked": (QUALIFIED_TAG, "ai-booked"),
    # A slot was chosen but not held during the call: the team confirms it.
    "booking_pending": (QUALIFIED_TAG, "ai-booking-pending"),
    "emergency_transferred": ("ai-emergency",),
    "emergency_after_hours": ("ai-emergency",),
    "opted_out": ("ai-opted-out",),
    "callback_requested": ("ai-callback",),
    "not_interested": ("ai-not-interested",),
    "wrong_number": ("ai-wrong-number",),
    "incomplete": (FOLLOW_UP_TAG,),
    "technical_transfer": (FOLLOW_UP_TAG,),
}

# GHL keys its contact custom fields `contact.<snake_name>`.
_FIELD_KEY = re.compile(r"^contact\.[A-Za-z0-9_]{1,100}$")
Tag = Annotated[str, Field(min_length=1, max_length=100)]


class CrmConfigError(DentalVoiceError):
    """A clinic's `crm` options are invalid; the message names the field (never a value)."""


class FieldKeys(BaseModel):
    """GHL custom-field keys to write (None: that field is not written)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pain_level: str | None = None
    urgency: str | None = None
    insurance_carrier: str | None = None
    treatment_interest: str | None = None
    preferred_slot: str | None = None
    last_call_outcome: str | None = None

    @field_validator("*")
    @classmethod
    def _contact_key(cls, value: str | None) -> str | None:
        if value is not None and not _FIELD_KEY.match(value):
            raise ValueError("must be a contact custom-field key such as contact.ai_pain_level")
        return value


class NoteOptions(BaseModel):
    """The call note on the contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # Minimum necessary: the summary and key fields are enough for the front desk.
    include_transcript: bool = False
    title: Annotated[str, Field(min_length=1, max_length=100)] = "AI call summary"


class CrmOptions(BaseModel):
    """A clinic's CRM write-back options (`Location.options["crm"]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Per outcome; an outcome named here replaces its default tags (an empty list: no tag).
    tags: dict[Outcome, list[Tag]] = Field(default_factory=dict)
    no_answer_tags: list[Tag] = Field(default_factory=lambda: ["ai-no-answer"])
    voicemail_tags: list[Tag] = Field(default_factory=lambda: ["ai-voicemail"])
    fields: FieldKeys = Field(default_factory=FieldKeys)
    # Overrides the clinic's `pipeline_id`; stages here override `pipeline_stages` per outcome.
    pipeline_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    stages: dict[Outcome, Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=dict
    )
    note: NoteOptions = Field(default_factory=NoteOptions)
    # Book a slot the call chose but could not book itself (`call_record.ghl_appointment_id`).
    book_appointments: bool = True
    # The member a team (round-robin or collective) calendar books; GHL refuses it without one.
    # The call's own booking reads the same key (`voice.context`).
    calendar_user_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def tags_for(self, outcome: Outcome) -> list[str]:
        """The tags an outcome adds."""
        if outcome in self.tags:
            return list(self.tags[outcome])
        return list(DEFAULT_OUTCOME_TAGS.get(outcome.value, (FOLLOW_UP_TAG,)))


@dataclass(frozen=True, slots=True)
class ClinicCrm:
    """Everything about a clinic the mapping needs, options merged with its columns.

    Attributes:
        options: The validated options.
        pipeline_id: The pipeline opportunities live in (None: no stage moves).
        stages: Outcome → stage id.
        calendar_id: Where pending bookings go (None: no booking).
        timezone: The clinic's IANA zone (times in the note).
        clinic_name: Shown in the note.
    """

    options: CrmOptions
    pipeline_id: str | None
    stages: dict[Outcome, str]
    calendar_id: str | None
    timezone: str
    clinic_name: str


def crm_options(location: Location) -> CrmOptions:
    """The clinic's validated `crm` options.

    Raises:
        CrmConfigError: The options are invalid; the message names each offending field.
    """
    raw: Any = (location.options or {}).get("crm") or {}
    try:
        return CrmOptions.model_validate(raw)
    except ValidationError as exc:
        # Field paths and reasons only: `input` may be anything an operator typed.
        problems = "; ".join(
            f"crm.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise CrmConfigError(
            f"location {location.ghl_location_id}: invalid CRM options: {problems}"
        ) from None


def clinic_crm(location: Location, options: CrmOptions | None = None) -> ClinicCrm:
    """Merge a clinic's options with its pipeline and calendar columns.

    Args:
        location: The clinic.
        options: Already validated options (read from `location` when None).

    Raises:
        CrmConfigError: The options, or `pipeline_stages`, are invalid.
    """
    options = options or crm_options(location)
    stages: dict[Outcome, str] = {}
    for name, stage_id in (location.pipeline_stages or {}).items():
        try:
            stages[Outcome(name)] = stage_id
        except ValueError:
            raise CrmConfigError(
                f"location {location.ghl_location_id}: pipeline_stages.{name}: not an outcome"
            ) from None
    stages.update(options.stages)
    return ClinicCrm(
        options=options,
        pipeline_id=options.pipeline_id or location.pipeline_id,
        stages=stages,
        calendar_id=location.calendar_id,
        timezone=location.timezone,
        clinic_name=location.name,
    )
