"""What the agent is told before an answered call starts, read from the attempt's records."""

from __future__ import annotations

import uuid
from datetime import datetime

from dentalvoice.conversation.agent import CallContext
from dentalvoice.db.engine import Database
from dentalvoice.dialer.progress import get_attempt
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location


async def call_context(
    *, db: Database, attempt_id: uuid.UUID, now: datetime, default_from: str | None = None
) -> CallContext:
    """The clinic, the lead's name and state, and the call's start.

    Args:
        db: The database.
        attempt_id: The answered attempt.
        now: The call's start (timezone-aware).
        default_from: TWILIO_FROM_NUMBER, the call-back number of clinics without their own.

    Returns:
        The agent's context (in memory only; it holds the lead's name).

    Raises:
        dialer.progress.UnknownAttempt: No such attempt.
    """
    async with db.reader() as session:
        attempt = await get_attempt(session=session, attempt_id=attempt_id)
        lead = await session.get_one(Lead, attempt.lead_id)
        location = await session.get_one(Location, attempt.location_id)
    return CallContext(
        clinic_name=location.name,
        timezone=location.timezone,
        now=now,
        lead_first_name=lead.first_name,
        lead_last_name=lead.last_name,
        lead_state=lead.state,
        transfer_available=location.transfer_number is not None,
        callback_number=location.transfer_number or location.twilio_from_number or default_from,
    )
