"""The seam after intake: listeners hear of every stored lead inside the same transaction.

The compliance gate and the dialer subscribe here, so a lead and the call job it causes are
committed together, or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from dentalvoice.db import DbSession


@dataclass(frozen=True, slots=True)
class LeadStored:
    """A webhook created or changed a lead."""

    lead_id: uuid.UUID
    event_id: uuid.UUID
    location_id: uuid.UUID
    created: bool
    changed_fields: frozenset[str]
    do_not_call: bool  # GHL's global DND or Call DND is on


@dataclass(frozen=True, slots=True)
class ListenerReply:
    """What a listener adds to the webhook's response (e.g. the next call time)."""

    key: str
    value: str


class LeadListener(Protocol):
    """Called once per stored lead, in the intake transaction; raising rolls the lead back."""

    async def __call__(self, *, session: DbSession, event: LeadStored) -> ListenerReply | None: ...
