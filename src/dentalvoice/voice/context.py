"""What the agent is told before an answered call starts, read from the attempt's records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dentalvoice.conversation.agent import CallContext
from dentalvoice.db.engine import Database
from dentalvoice.dialer.progress import get_attempt
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.voice.calendar import CalendarTarget


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """What an answered call starts with.

    Attributes:
        context: The agent's context (in memory only; it holds the lead's name).
        calendar: Where the call may book; None when the clinic has no calendar.
    """

    context: CallContext
    calendar: CalendarTarget | None


async def answered_call(
    *, db: Database, attempt_id: uuid.UUID, now: datetime, default_from: str | None = None
) -> AnsweredCall:
    """The clinic, the lead's name and state, the call's start, and the clinic's calendar.

    Args:
        db: The database.
        attempt_id: The answered attempt.
        now: The call's start (timezone-aware).
        default_from: TWILIO_FROM_NUMBER, the call-back number of clinics without their own.

    Returns:
        The agent's context and the calendar target.

    Raises:
        dialer.progress.UnknownAttempt: No such attempt.
    """
    async with db.reader() as session:
        attempt = await get_attempt(session=session, attempt_id=attempt_id)
        lead = await session.get_one(Lead, attempt.lead_id)
        location = await session.get_one(Location, attempt.location_id)
    context = CallContext(
        clinic_name=location.name,
        timezone=location.timezone,
        now=now,
        lead_first_name=lead.first_name,
        lead_last_name=lead.last_name,
        lead_state=lead.state,
        transfer_available=location.transfer_number is not None,
        callback_number=location.transfer_number or location.twilio_from_number or default_from,
    )
    return AnsweredCall(context=context, calendar=calendar_target(location, lead))


def calendar_target(location: Location, lead: Lead) -> CalendarTarget | None:
    """Where a call to `lead` books: the clinic's GHL calendar, for the lead's GHL contact.

    A team (round-robin) calendar books a named member: `options["crm"]["calendar_user_id"]`.
    Whether the clinic has GHL credentials is found out by the first request (the client
    reads them), in the background.

    Returns:
        The target, or None when the clinic has no calendar.
    """
    if not location.calendar_id or not lead.ghl_contact_id:
        return None
    crm: Any = (location.options or {}).get("crm")
    user: Any = crm.get("calendar_user_id") if isinstance(crm, dict) else None
    return CalendarTarget(
        ghl_location_id=location.ghl_location_id,
        calendar_id=location.calendar_id,
        contact_id=lead.ghl_contact_id,
        timezone=location.timezone,
        assigned_user_id=user if isinstance(user, str) and user.strip() else None,
        first_name=lead.first_name,
    )
