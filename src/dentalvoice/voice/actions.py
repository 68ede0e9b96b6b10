"""What the agent's actions do during a voice call, and how the call's outcome is recorded.

`MarkDoNotCall` is honoured on the spot: the number goes on the clinic's do-not-call list and
the lead's waiting calls are cancelled, in one transaction, before the goodbye is spoken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from loguru import logger

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncScope, DncSource
from dentalvoice.conversation.agent import Action, MarkDoNotCall
from dentalvoice.conversation.qualification import Outcome as CallOutcome
from dentalvoice.db.engine import Database
from dentalvoice.dialer import progress
from dentalvoice.dialer.retry import Outcome
from dentalvoice.dialer.service import cancel_calls
from dentalvoice.leads.models import Lead

# The conversation's outcome → what it means for the dialer's job.
_JOB_OUTCOME = {
    CallOutcome.OPTED_OUT: Outcome.OPTED_OUT,
    CallOutcome.WRONG_NUMBER: Outcome.WRONG_NUMBER,
}


def job_outcome(outcome: CallOutcome | None, *, opted_out: bool) -> Outcome:
    """The dialer's view of a finished conversation: stop for good, or a conversation.

    Args:
        outcome: The qualification's outcome, if the agent reached one.
        opted_out: The caller asked not to be called again (at any point).

    Returns:
        The job outcome; every answered conversation ends the job.
    """
    if opted_out:
        return Outcome.OPTED_OUT
    return _JOB_OUTCOME.get(outcome, Outcome.CONVERSATION) if outcome else Outcome.CONVERSATION


@dataclass
class CallActions:
    """The action sink of one call."""

    db: Database
    attempt_id: uuid.UUID

    async def __call__(self, action: Action) -> None:
        """Carry out one action (others are recorded on the agent's state for the CRM step)."""
        if isinstance(action, MarkDoNotCall):
            await self._do_not_call()

    async def _do_not_call(self) -> None:
        async with self.db.transaction() as session:
            attempt = await progress.get_attempt(session=session, attempt_id=self.attempt_id)
            lead = await session.get_one(Lead, attempt.lead_id)
            if lead.phone_e164 is not None:
                await dnc.add(
                    session=session,
                    cipher=self.db.cipher,
                    phone_e164=lead.phone_e164,
                    scope=DncScope.LOCATION,
                    location_id=attempt.location_id,
                    source=DncSource.CALL_OPT_OUT,
                    note="asked during a call",
                )
            cancelled = await cancel_calls(session=session, lead_id=lead.id, reason="opted_out")
            await progress.record_outcome(
                session=session, attempt_id=self.attempt_id, outcome=Outcome.OPTED_OUT
            )
        logger.info("opt-out recorded: attempt={} jobs_cancelled={}", self.attempt_id, cancelled)

    async def finished(self, *, outcome: CallOutcome | None, opted_out: bool) -> None:
        """Record how the conversation ended, before Twilio's final status settles the job."""
        async with self.db.transaction() as session:
            await progress.record_outcome(
                session=session,
                attempt_id=self.attempt_id,
                outcome=job_outcome(outcome, opted_out=opted_out),
            )
