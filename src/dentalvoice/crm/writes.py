"""The GHL writes a call turns into, as data: what the outbox stores and the sender performs.

Each write is one pydantic model with a `kind`; `WriteOp` is their tagged union, so a row's
payload reads back as the model it was written from. `CallFacts` and `AttemptFacts` are what
the mapping starts from, kept (in a `Replan` write) when a clinic's options were invalid so
the writes can be planned again once they are fixed.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from dentalvoice.conversation.qualification import Outcome, Qualification

__all__ = [
    "AddTags",
    "AttemptFacts",
    "BookAppointment",
    "CallFacts",
    "CreateNote",
    "MoveOpportunity",
    "PlannedWrite",
    "Replan",
    "SetCallDnd",
    "SetFields",
    "UnansweredOutcome",
    "WriteKind",
    "WriteOp",
    "parse_op",
]

FieldValue = str | int | float


class WriteKind(enum.StrEnum):
    """What one outbox row does in GHL."""

    SET_CALL_DND = "set_call_dnd"
    SET_FIELDS = "set_fields"
    ADD_TAGS = "add_tags"
    BOOK_APPOINTMENT = "book_appointment"
    CREATE_NOTE = "create_note"
    MOVE_OPPORTUNITY = "move_opportunity"
    REPLAN = "replan"


# The order of one call's writes: GHL workflows triggered by the appointment or the stage see
# the fields and tags already set; the stage moves last, once the rest is there.
SEQUENCE: Final[dict[WriteKind, int]] = {
    WriteKind.REPLAN: 0,
    WriteKind.SET_CALL_DND: 0,
    WriteKind.SET_FIELDS: 1,
    WriteKind.ADD_TAGS: 2,
    WriteKind.BOOK_APPOINTMENT: 3,
    WriteKind.CREATE_NOTE: 4,
    WriteKind.MOVE_OPPORTUNITY: 5,
}


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetCallDnd(_Op):
    """Set the contact's Call DND (`dndSettings.Call.status = active`)."""

    kind: Literal["set_call_dnd"] = "set_call_dnd"


class SetFields(_Op):
    """Set contact custom fields, by key (resolved to GHL field ids when sent)."""

    kind: Literal["set_fields"] = "set_fields"
    fields: dict[str, FieldValue] = Field(min_length=1)


class AddTags(_Op):
    """Add tags (GHL keeps the contact's other tags)."""

    kind: Literal["add_tags"] = "add_tags"
    tags: list[str] = Field(min_length=1)


class CreateNote(_Op):
    """Add the call note; `marker` (in the body) finds it again after an unsure attempt."""

    kind: Literal["create_note"] = "create_note"
    title: str
    body: str = Field(min_length=1)
    marker: str = Field(min_length=8)


class BookAppointment(_Op):
    """Book the slot the call chose (only when the call did not book it itself)."""

    kind: Literal["book_appointment"] = "book_appointment"
    calendar_id: str
    start: AwareDatetime
    # The clinic's zone: the start is sent in it, and offset-less times GHL lists are read in it.
    timezone: str
    title: str
    # The team member, for calendars that need one (`CrmOptions.calendar_user_id`).
    assigned_user_id: str | None = None


class MoveOpportunity(_Op):
    """Put the contact's opportunity in the pipeline at `stage_id` (created if there is none)."""

    kind: Literal["move_opportunity"] = "move_opportunity"
    pipeline_id: str
    stage_id: str
    name: str


UnansweredOutcome = Literal["no_answer", "busy", "voicemail"]


class CallFacts(BaseModel):
    """An answered call as the mapping needs it (PHI: stored encrypted only)."""

    model_config = ConfigDict(frozen=True)

    attempt_id: uuid.UUID
    record_id: uuid.UUID | None = None
    outcome: Outcome | None = None
    qualification: Qualification = Field(default_factory=Qualification)
    booked_slot_at: AwareDatetime | None = None
    ghl_appointment_id: str | None = None
    callback_at: AwareDatetime | None = None
    transfer_reason: str | None = None
    transfer_status: str | None = None
    contact_name: str | None = None
    transcript: list[tuple[str, str]] | None = None

    @property
    def opted_out(self) -> bool:
        """The caller asked not to be called again, at any point of the call."""
        return self.qualification.opted_out or self.outcome is Outcome.OPTED_OUT


class AttemptFacts(BaseModel):
    """An unanswered dial: what its tag and last-outcome field say."""

    model_config = ConfigDict(frozen=True)

    attempt_id: uuid.UUID
    outcome: UnansweredOutcome
    voicemail_left: bool = False


class Replan(_Op):
    """Plan a call's writes again: its clinic's options were invalid when it ended."""

    kind: Literal["replan"] = "replan"
    call: CallFacts | None = None
    attempt: AttemptFacts | None = None


WriteOp = Annotated[
    SetCallDnd | SetFields | AddTags | CreateNote | BookAppointment | MoveOpportunity | Replan,
    Field(discriminator="kind"),
]
_OP: TypeAdapter[WriteOp] = TypeAdapter(WriteOp)


def parse_op(payload: object) -> WriteOp:
    """A stored payload back as its write model.

    Raises:
        pydantic.ValidationError: The payload is not a write this version knows.
    """
    return _OP.validate_python(payload)


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One write of one call, ready to enqueue.

    Attributes:
        key: Stable across re-plans and processes: `<attempt id>:<name>`.
        op: What to do.
    """

    key: str
    op: WriteOp

    @property
    def kind(self) -> WriteKind:
        """The op's kind."""
        return WriteKind(self.op.kind)

    @property
    def seq(self) -> int:
        """Its place among the call's writes."""
        return SEQUENCE[self.kind]
