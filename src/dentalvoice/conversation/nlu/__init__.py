"""Deterministic understanding of caller utterances for the scripted agent: fast, never raising."""

from __future__ import annotations

from dentalvoice.conversation.nlu.availability import availability
from dentalvoice.conversation.nlu.carriers import carrier
from dentalvoice.conversation.nlu.complaint import chief_complaint
from dentalvoice.conversation.nlu.insurance import insurance
from dentalvoice.conversation.nlu.intents import Intent, intents
from dentalvoice.conversation.nlu.moment import moment, warm_up
from dentalvoice.conversation.nlu.pain import pain_level
from dentalvoice.conversation.nlu.treatments import treatment
from dentalvoice.conversation.nlu.visits import last_visit, new_patient
from dentalvoice.conversation.nlu.yesno import YesNo, yes_no

__all__ = [
    "Intent",
    "YesNo",
    "availability",
    "carrier",
    "chief_complaint",
    "insurance",
    "intents",
    "last_visit",
    "moment",
    "new_patient",
    "pain_level",
    "treatment",
    "warm_up",
    "yes_no",
]
