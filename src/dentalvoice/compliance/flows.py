"""The gate after intake: every stored lead gets a decision and, when lawful, a call job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger

from dentalvoice.compliance import service as compliance_service
from dentalvoice.compliance.models import DecisionKind, DecisionPurpose
from dentalvoice.db import DbSession
from dentalvoice.db.base import utcnow
from dentalvoice.db.crypto import PhiCipher
from dentalvoice.dialer import service as dialer_service
from dentalvoice.leads import service as lead_service
from dentalvoice.leads.events import LeadStored, ListenerReply
from dentalvoice.locations import service as location_service


class ScheduleFirstCall:
    """An intake listener: decide for the lead and keep its call job in step.

    A new lead is decided and gets its job; a changed lead is re-decided only while its job is
    still waiting; a lead GHL now marks do-not-call has its waiting jobs cancelled at once. The
    webhook response carries `next_call_at` or `blocked`.
    """

    def __init__(self, *, cipher: PhiCipher, clock: Callable[[], datetime] = utcnow) -> None:
        self.cipher = cipher
        self.clock = clock

    async def __call__(self, *, session: DbSession, event: LeadStored) -> ListenerReply | None:
        """Decide for the stored lead and schedule, block or cancel its call."""
        lead = await lead_service.get_lead(session=session, lead_id=event.lead_id)
        location = await location_service.get_location(
            session=session, location_id=event.location_id
        )
        if lead is None or location is None:  # pragma: no cover - intake just wrote both
            return None
        if event.do_not_call:
            cancelled = await dialer_service.cancel_calls(
                session=session, lead_id=lead.id, reason="ghl_dnd"
            )
            logger.info("lead {} marked DND in GHL; {} job(s) cancelled", lead.id, cancelled)
        elif (
            not event.created
            and await dialer_service.open_job(session=session, lead_id=lead.id) is None
        ):
            # The lead was already called (or stopped): a later edit in GHL must not start
            # calling it again.
            return None
        now = self.clock()
        decision = await compliance_service.decide_for_lead(
            session=session,
            cipher=self.cipher,
            lead=lead,
            location=location,
            at=now,
            purpose=DecisionPurpose.SCHEDULE,
        )
        if decision.kind is DecisionKind.BLOCK:
            reason = ",".join(decision.reasons)
            if not event.do_not_call:
                await dialer_service.block_calls(
                    session=session,
                    lead_id=lead.id,
                    location_id=location.id,
                    reason=reason,
                    new_lead=event.created,
                )
            return ListenerReply(key="blocked", value=reason)
        due = now if decision.kind is DecisionKind.ALLOW else decision.not_before or now
        await dialer_service.schedule_call(
            session=session,
            lead_id=lead.id,
            location_id=location.id,
            due_at=due,
            new_lead=event.created,
        )
        return ListenerReply(key="next_call_at", value=due.isoformat())
