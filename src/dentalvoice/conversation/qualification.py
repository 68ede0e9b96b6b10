"""What a call learns about a lead: the Qualification, and the enums its fields take."""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class TreatmentInterest(enum.StrEnum):
    """What the caller wants done."""

    IMPLANTS = "implants"
    ALIGNERS = "aligners"
    CLEANING_CHECKUP = "cleaning_checkup"
    WHITENING = "whitening"
    VENEERS = "veneers"
    CROWNS_BRIDGES = "crowns_bridges"
    ROOT_CANAL = "root_canal"
    EXTRACTION = "extraction"
    DENTURES = "dentures"
    EMERGENCY_PAIN = "emergency_pain"
    COSMETIC_CONSULT = "cosmetic_consult"
    PEDIATRIC = "pediatric"
    OTHER = "other"


class Urgency(enum.StrEnum):
    """How soon the clinic should see the caller."""

    ROUTINE = "routine"
    SOON = "soon"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class RedFlag(enum.StrEnum):
    """Symptoms that hand the call to a human at once."""

    SEVERE_PAIN = "severe_pain"
    SWELLING_WITH_FEVER = "swelling_with_fever"
    SPREADING_SWELLING = "spreading_swelling"
    UNCONTROLLED_BLEEDING = "uncontrolled_bleeding"
    TRAUMA = "trauma"
    BREATHING_OR_SWALLOWING = "breathing_or_swallowing"
    ALLERGIC_REACTION = "allergic_reaction"


# Red flags for which the caller is told to call 911 / go to an emergency room when no human
# can take the call.
LIFE_THREATENING = frozenset(
    {RedFlag.BREATHING_OR_SWALLOWING, RedFlag.SPREADING_SWELLING, RedFlag.ALLERGIC_REACTION}
)


class InsuranceStatus(enum.StrEnum):
    """Whether the caller has dental insurance."""

    HAS = "has"
    NONE = "none"
    UNSURE = "unsure"


class Outcome(enum.StrEnum):
    """How the call ended, as GHL will be told."""

    QUALIFIED = "qualified"
    BOOKED = "booked"  # the clinic's calendar holds the chosen slot
    BOOKING_PENDING = "booking_pending"  # a slot was chosen; the team confirms it (not held yet)
    EMERGENCY_TRANSFERRED = "emergency_transferred"
    EMERGENCY_AFTER_HOURS = "emergency_after_hours"
    CALLBACK_REQUESTED = "callback_requested"
    NOT_INTERESTED = "not_interested"
    OPTED_OUT = "opted_out"
    WRONG_NUMBER = "wrong_number"
    INCOMPLETE = "incomplete"
    TECHNICAL_TRANSFER = "technical_transfer"


class Weekday(enum.StrEnum):
    """Days, as availability preferences name them."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class Insurance(BaseModel):
    """The caller's dental insurance, as they described it."""

    model_config = ConfigDict(validate_assignment=True)

    status: InsuranceStatus | None = None
    carrier: str | None = None  # normalised name from the carriers data file
    raw: str | None = None  # what the caller said


class TimeWindow(BaseModel):
    """A span of the day, local to the clinic, "HH:MM" to "HH:MM"."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class Availability(BaseModel):
    """When the caller can come in: days and windows (empty means any)."""

    days: list[Weekday] = Field(default_factory=list)
    windows: list[TimeWindow] = Field(default_factory=list)
    raw: str | None = None


class Qualification(BaseModel):
    """Everything a call establishes; written back to GHL as a note, fields, tags and stage."""

    model_config = ConfigDict(validate_assignment=True)

    chief_complaint: str | None = Field(default=None, max_length=200)
    treatment_interest: TreatmentInterest | None = None
    pain_level: int | None = Field(default=None, ge=0, le=10)
    urgency: Urgency | None = None
    red_flags: list[RedFlag] = Field(default_factory=list)
    insurance: Insurance = Field(default_factory=Insurance)
    new_patient: bool | None = None
    last_visit: str | None = Field(default=None, max_length=100)
    preferred_slot: AwareDatetime | None = None
    availability: Availability | None = None
    callback_time: AwareDatetime | None = None
    language: str = "en"
    identity_confirmed: bool | None = None
    opted_out: bool = False
    outcome: Outcome | None = None
    summary: str | None = Field(default=None, max_length=1000)

    def add_red_flags(self, flags: list[RedFlag]) -> None:
        """Record flags once each, keeping the order they were heard in."""
        self.red_flags = [*self.red_flags, *(f for f in flags if f not in self.red_flags)]

    def scheduled_for(self) -> datetime | None:
        """The booked slot, or the callback time, whichever the call set."""
        return self.preferred_slot or self.callback_time
