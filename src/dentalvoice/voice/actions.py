"""What the agent's actions do during a voice call, and how the finished call is stored.

`MarkDoNotCall` is honoured on the spot: the number goes on the clinic's do-not-call list and
the lead's waiting calls are cancelled, in one transaction, before the goodbye is spoken.
`Transfer` redirects the live call to the clinic's transfer number, with the summary whispered
to whoever answers; `ScheduleCallback` schedules a call job through the compliance gate;
`BookSlot` records the slot the caller chose, with GHL's appointment id when the call's
calendar holds it (else the CRM step books it). When the call ends, `finished` waits for
bookings still in flight, records the dialer's outcome and stores the call's record with its
`call_concluded` event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loguru import logger

from dentalvoice.compliance import dnc
from dentalvoice.compliance import service as compliance_service
from dentalvoice.compliance.models import DecisionKind, DecisionPurpose, DncScope, DncSource
from dentalvoice.config import Settings
from dentalvoice.conversation.agent import (
    Action,
    BookSlot,
    MarkDoNotCall,
    ScheduleCallback,
    Transfer,
    TransferReason,
)
from dentalvoice.conversation.qualification import Outcome as CallOutcome
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.conversation.summary import note_summary
from dentalvoice.crm import outbox as crm_outbox
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer import progress
from dentalvoice.dialer import service as dialer_service
from dentalvoice.dialer.retry import Outcome
from dentalvoice.dialer.service import cancel_calls
from dentalvoice.leads.models import Lead
from dentalvoice.leads.normalize import mask_phone
from dentalvoice.locations.service import get_location
from dentalvoice.logging import describe_exception
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.errors import TwilioError
from dentalvoice.telephony.media import LiveCall
from dentalvoice.telephony.urls import CallbackUrls
from dentalvoice.voice import records
from dentalvoice.voice.calendar import GhlCalendar
from dentalvoice.voice.records import ActionsTaken, CallRecord, MeasuredTurn, TransferStatus

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


# What the front desk hears when the agent gave no summary.
_REASON_WHISPER = {
    TransferReason.EMERGENCY: "A caller with a possible dental emergency is being transferred.",
    TransferReason.TECHNICAL: "A caller the assistant could not help is being transferred.",
    TransferReason.REQUESTED: "A caller who asked for a person is being transferred.",
}


def whisper_text(action: Transfer) -> str:
    """The words whispered to the front desk: the agent's summary, fit for `<Say>`."""
    text = " ".join("".join(c if c.isprintable() else " " for c in action.summary).split())
    return text or _REASON_WHISPER[action.reason]


@dataclass
class CallActions:
    """The action sink of one call, and what it leaves behind when it ends."""

    db: Database
    attempt_id: uuid.UUID
    call_sid: str | None = None
    # None: this process cannot steer calls (no Twilio); a transfer is then only recorded.
    control: CallControl | None = None
    urls: CallbackUrls | None = None  # the whisper URL's base (PUBLIC_BASE_URL)
    # TWILIO_FROM_NUMBER: the caller id of a clinic without its own number.
    default_from: str | None = None
    clock: Callable[[], datetime] = utcnow
    # The clinic's calendar as the agent books in it; None: no calendar (or no GHL here).
    calendar: GhlCalendar | None = None
    taken: ActionsTaken = field(default_factory=ActionsTaken)
    _running: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def for_call(
        cls,
        *,
        db: Database,
        settings: Settings,
        call: LiveCall,
        control: CallControl | None,
        clock: Callable[[], datetime] = utcnow,
        calendar: GhlCalendar | None = None,
    ) -> CallActions:
        """The sink for one answered call.

        Args:
            db: The database.
            settings: The process's settings (public URL, default caller id).
            call: The live call.
            control: The process's call control; None without Twilio.
            clock: The wall clock (a simulated one in tests and the demo).
            calendar: The call's GHL calendar, which knows the appointments it holds.

        Returns:
            The sink.
        """
        base = settings.public_base_url
        return cls(
            db=db,
            attempt_id=call.attempt_id,
            call_sid=call.call_sid or None,
            control=control,
            urls=CallbackUrls.from_base(str(base)) if base is not None else None,
            default_from=settings.twilio_from_number,
            clock=clock,
            calendar=calendar,
        )

    async def __call__(self, action: Action) -> None:
        """Carry out one action (`EndCall` and `LeaveVoicemail` need nothing from here)."""
        if isinstance(action, MarkDoNotCall):
            await self._outliving_the_call(self._do_not_call())
        elif isinstance(action, Transfer):
            await self._outliving_the_call(self._transfer(action))
        elif isinstance(action, ScheduleCallback):
            self.taken.callback_at = action.at
            await self._outliving_the_call(self._schedule_callback(action.at))
        elif isinstance(action, BookSlot):
            # The calendar has answered by now: an id if GHL holds the slot. Without one the
            # CRM step books it from the call's record.
            self.taken.booked_slot = action.start
            self.taken.appointment_id = (
                self.calendar.appointment_for(action.start) if self.calendar else None
            )

    async def _outliving_the_call(self, work: Coroutine[Any, Any, None]) -> None:
        # The pipeline is cancelled when the stream ends, and a transfer's own redirect ends
        # it; an opt-out or a callback said just before a hang-up must still be written. The
        # work runs as its own task, and `finished` waits for it.
        task = asyncio.ensure_future(work)
        self._running.append(task)
        await asyncio.shield(task)

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
            # GHL's Call DND with our DNC row: it holds even if the call drops before its end.
            # After the attempt's row lock, as `store_call` takes them: the two share keys.
            await crm_outbox.enqueue_opt_out(
                session=session,
                attempt_id=self.attempt_id,
                lead_id=lead.id,
                location_id=attempt.location_id,
            )
        logger.info("opt-out recorded: attempt={} jobs_cancelled={}", self.attempt_id, cancelled)

    async def _transfer(self, action: Transfer) -> None:
        self.taken.transfer_reason = action.reason
        control, call_sid, urls = self.control, self.call_sid, self.urls
        steerable = control is not None and call_sid is not None and urls is not None
        async with self.db.transaction() as session:
            attempt = await progress.get_attempt(session=session, attempt_id=self.attempt_id)
            location = await get_location(session=session, location_id=attempt.location_id)
            number = location.transfer_number if location is not None else None
            caller_id = (location.twilio_from_number if location else None) or self.default_from
            if number is not None and steerable:
                # Before the redirect: Twilio asks for the whisper once the front desk answers.
                await records.record_transfer(
                    session=session,
                    attempt_id=self.attempt_id,
                    reason=action.reason,
                    summary=whisper_text(action),
                    at=self.clock(),
                )
        if number is None:
            self.taken.transfer_status = TransferStatus.NO_NUMBER
            logger.warning(
                "transfer not made: attempt={}: the clinic has no transfer number", self.attempt_id
            )
            await self._hang_up()
            return
        if control is None or call_sid is None or urls is None:
            self.taken.transfer_status = TransferStatus.UNAVAILABLE
            logger.warning("transfer not made: attempt={}: no Twilio here", self.attempt_id)
            return
        try:
            moved = await control.transfer(
                call_sid=call_sid,
                number=number,
                caller_id=caller_id,
                whisper_url=urls.whisper(self.attempt_id),
            )
        except TwilioError as exc:
            self.taken.transfer_status = TransferStatus.FAILED
            logger.error("transfer failed: attempt={} {}", self.attempt_id, describe_exception(exc))
            await self._hang_up()
            return
        if not moved:
            self.taken.transfer_status = TransferStatus.CALL_ENDED
            return
        self.taken.transfer_status = TransferStatus.TRANSFERRED
        # After the redirect, not before: a redirect Twilio refused must not leave the attempt
        # marked transferred. The call stays up while the front desk rings and talks, so its
        # final status (which settles the job by this outcome) comes well after this write.
        async with self.db.transaction() as session:
            await progress.record_outcome(
                session=session, attempt_id=self.attempt_id, outcome=Outcome.TRANSFERRED
            )
        logger.info("call transferred: attempt={} to={}", self.attempt_id, mask_phone(number))

    async def _hang_up(self) -> None:
        # The agent's last words (the transfer line) were spoken and it will say no more: a
        # transfer that cannot be made ends the call rather than leaving the caller in silence.
        if self.control is None or self.call_sid is None:
            return
        try:
            await self.control.hang_up(call_sid=self.call_sid)
        except TwilioError as exc:
            logger.warning(
                "hang-up failed: attempt={} {}", self.attempt_id, describe_exception(exc)
            )

    async def _schedule_callback(self, at: datetime) -> None:
        now = self.clock()
        when = max(at, now)
        async with self.db.transaction() as session:
            attempt = await progress.get_attempt(session=session, attempt_id=self.attempt_id)
            lead = await session.get_one(Lead, attempt.lead_id)
            location = await get_location(session=session, location_id=attempt.location_id)
            if location is None or lead.phone_e164 is None:
                logger.warning("callback not scheduled: attempt={}", self.attempt_id)
                return
            decision = await compliance_service.decide_for_lead(
                session=session,
                cipher=self.db.cipher,
                lead=lead,
                location=location,
                at=when,
                purpose=DecisionPurpose.SCHEDULE,
            )
            if decision.kind is DecisionKind.BLOCK:
                # Kept open as blocked, as for a first call: a later GHL update re-decides it.
                job = await dialer_service.block_calls(
                    session=session,
                    lead_id=lead.id,
                    location_id=location.id,
                    reason=",".join(decision.reasons),
                )
                due = None
            else:
                due = when if decision.allowed else decision.not_before or when
                job = await dialer_service.schedule_call(
                    session=session, lead_id=lead.id, location_id=location.id, due_at=due
                )
        logger.info(
            "callback: attempt={} job={} due={}",
            self.attempt_id,
            job.id,
            due.isoformat() if due is not None else "blocked",
        )

    async def finished(
        self,
        *,
        qualification: Qualification,
        transcript: Sequence[tuple[str, str]],
        latency: Sequence[MeasuredTurn] = (),
    ) -> CallRecord:
        """Record how the call ended and store it, with its `call_concluded` event.

        Actions still running (a transfer's bookkeeping outlives the stream its redirect
        ended) are waited for first, so the record has what they did. The dialer's outcome
        is noted before Twilio's final status settles the job.

        Args:
            qualification: What the call established.
            transcript: (speaker, text) pairs, in order.
            latency: One entry per caller turn.

        Returns:
            The stored record (the same one when the call was already stored).
        """
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        await self._settle_booking(qualification)
        async with self.db.transaction() as session:
            await progress.record_outcome(
                session=session,
                attempt_id=self.attempt_id,
                outcome=job_outcome(qualification.outcome, opted_out=qualification.opted_out),
            )
            record = await records.store_call(
                session=session,
                attempt_id=self.attempt_id,
                qualification=qualification,
                transcript=transcript,
                actions=self.taken,
                latency=latency,
                ended_at=self.clock(),
            )
        # Ids only: the outcome can say "emergency", which is health information.
        logger.info("call stored: attempt={} record={}", self.attempt_id, record.id)
        return record

    async def _settle_booking(self, qualification: Qualification) -> None:
        """Bring the record in line with what GHL holds once the bookings in flight are over.

        A booking the caller was told the team would confirm may have gone through since: it
        is then booked. A call that ended while GHL was still answering keeps the slot GHL
        holds. `qualification` (the agent's, finished) is updated in place to match.
        """
        calendar = self.calendar
        if calendar is None:
            return
        await calendar.settle()
        held = calendar.held()
        taken = self.taken
        if taken.booked_slot is None and len(held) == 1:
            ((taken.booked_slot, _),) = held.items()
            qualification.preferred_slot = taken.booked_slot
        if taken.booked_slot is not None:
            taken.appointment_id = held.get(taken.booked_slot)
        for start, appointment in held.items():
            if start != taken.booked_slot:
                # The caller changed their mind mid-booking: the front desk cancels this one.
                logger.warning(
                    "appointment held but not the caller's choice: attempt={} appointment={}",
                    self.attempt_id,
                    appointment,
                )
        if taken.appointment_id is not None and qualification.outcome in (
            None,
            CallOutcome.BOOKING_PENDING,
        ):
            qualification.outcome = CallOutcome.BOOKED
            qualification.summary = note_summary(qualification)
