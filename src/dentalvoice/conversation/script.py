"""Conversation scripts as data: the questions in order and the fixed lines, per location."""

from __future__ import annotations

import enum
import re
import string
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator

from dentalvoice.conversation.agent import CallContext


class Slot(enum.StrEnum):
    """The questions a call works through; also the topics a simulated caller answers."""

    GOOD_TIME = "good_time"
    IDENTITY = "identity"
    REASON = "reason"
    PAIN = "pain"
    RED_FLAGS = "red_flags"
    LAST_VISIT = "last_visit"
    NEW_PATIENT = "new_patient"
    INSURANCE = "insurance"
    AVAILABILITY = "availability"
    OFFER = "offer"  # choosing one of the offered calendar slots
    CONFIRM = "confirm"
    ANYTHING_ELSE = "anything_else"


class Step(BaseModel):
    """One question: how it is asked, and asked again more simply."""

    slot: Slot
    ask: str
    reask: str


class Script(BaseModel):
    """A location's script. Templates may use {clinic}, {agent_name}, {first_name}."""

    version: int = 1
    name: str
    opening: str
    steps: list[Step]
    lines: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> Script:
        missing = sorted(REQUIRED_LINES - self.lines.keys())
        if missing:
            raise ValueError(f"script {self.name!r} lacks lines: {', '.join(missing)}")
        slots = [s.slot for s in self.steps]
        if len(slots) != len(set(slots)):
            raise ValueError(f"script {self.name!r} asks a slot twice")
        return self

    def step(self, slot: Slot) -> Step | None:
        """The step for `slot`, if the script asks it."""
        return next((s for s in self.steps if s.slot is slot), None)

    def line(self, name: str, context: CallContext, **values: str) -> str:
        """A fixed line, filled in for this call (the shipped script's for an optional line
        this script leaves out)."""
        template = self.lines.get(name)
        if template is None and name in OPTIONAL_LINES:
            template = load_script().lines[name]
        if template is None:
            raise KeyError(name)
        return render(template, context, **values)


REQUIRED_LINES = frozenset(
    {
        "identity_wrong", "robot", "who_is_this", "clinical_question", "price_question",
        "callback_ok", "callback_when", "wrong_number", "not_interested", "opt_out",
        "emergency_transfer", "emergency_911", "emergency_morning", "technical_transfer",
        "didnt_catch", "goodbye", "summary_intro", "offer_slots", "booked", "no_slots",
        "human_transfer", "anything_else_no",
    }
)  # fmt: skip


# Lines added after location scripts were written: a script without them borrows the shipped
# script's, so it keeps loading.
OPTIONAL_LINES = frozenset({"booking_filler", "booking_pending", "slot_taken"})


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, context: CallContext, **values: str) -> str:
    """Fill a template; unknown names become empty, and doubled spaces are closed up."""
    fields = _Blank(
        clinic=context.clinic_name,
        agent_name=context.agent_name,
        first_name=context.lead_first_name or "",
        callback_number=context.callback_number or "",
        **values,
    )
    text = string.Formatter().vformat(template, (), fields)
    text = " ".join(text.split())
    text = text.replace(" ,", ",").replace(" .", ".").replace(" ?", "?").replace(" !", "!")
    # "Thanks, ." when the name is unknown → "Thanks."
    return re.sub(r",\s*([.!?])", r"\1", text)


@lru_cache(maxsize=32)
def _load(path: str | None) -> Script:
    if path is None:
        text = resources.files("dentalvoice.conversation.scripts").joinpath("default.yaml")
        return Script.model_validate(yaml.safe_load(text.read_text(encoding="utf-8")))
    return Script.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_script(path: Path | str | None = None) -> Script:
    """A script from a YAML file; the shipped dental script when `path` is None."""
    return _load(str(path) if path is not None else None)
