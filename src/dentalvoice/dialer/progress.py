"""A call attempt's life after the dial: Twilio's callbacks move it forward, never back.

Twilio numbers status callbacks but does not promise their order (twilio.md §4), and retries
can repeat them. Each status has a rank (queued < ringing < in progress < final) and a callback
only ever raises it, inside a row lock, so a late `ringing` after `in-progress`, a duplicate
`completed` or two processes handling callbacks at once all leave the same state. A final
status settles the job: done, blocked, or pending again at the retry policy's next time.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loguru import logger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.crm import outbox as crm_outbox
from dentalvoice.db.base import utcnow
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.dialer.retry import NextStep, Outcome, next_step, policy_from
from dentalvoice.errors import DentalVoiceError
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.locations.service import options_of

# Twilio's CallStatus values (twilio.md §4) as attempt statuses.
TWILIO_STATUS: Final[dict[str, AttemptStatus]] = {
    "queued": AttemptStatus.QUEUED,
    "initiated": AttemptStatus.QUEUED,
    "ringing": AttemptStatus.RINGING,
    "in-progress": AttemptStatus.IN_PROGRESS,
    "completed": AttemptStatus.COMPLETED,
    "busy": AttemptStatus.BUSY,
    "no-answer": AttemptStatus.NO_ANSWER,
    "failed": AttemptStatus.FAILED,
    "canceled": AttemptStatus.CANCELED,
}

FINAL: Final = frozenset(
    {
        AttemptStatus.COMPLETED,
        AttemptStatus.NO_ANSWER,
        AttemptStatus.BUSY,
        AttemptStatus.FAILED,
        AttemptStatus.VOICEMAIL,
        AttemptStatus.CANCELED,
    }
)
LIVE: Final = (AttemptStatus.QUEUED, AttemptStatus.RINGING, AttemptStatus.IN_PROGRESS)
_RANK: Final = {AttemptStatus.QUEUED: 0, AttemptStatus.RINGING: 1, AttemptStatus.IN_PROGRESS: 2}

_FINAL_OUTCOME: Final = {
    AttemptStatus.BUSY: Outcome.BUSY,
    AttemptStatus.NO_ANSWER: Outcome.NO_ANSWER,
    AttemptStatus.FAILED: Outcome.FAILED,
    AttemptStatus.CANCELED: Outcome.CANCELED,
}
_SETTLEABLE: Final = (JobStatus.CLAIMED, JobStatus.CALLING, JobStatus.PENDING)
# Outcomes that stop calling because the number itself is the problem.
_BLOCKING: Final = frozenset({Outcome.INVALID_NUMBER, Outcome.GEO_BLOCKED})


def rank(status: AttemptStatus) -> int:
    """How far along a call is; every final status ranks above every live one."""
    return _RANK.get(status, 3)


class UnknownAttempt(DentalVoiceError):
    """A callback names an attempt we do not have, or one that belongs to another call."""


class AmdAction(enum.StrEnum):
    """What to do with a call once answering-machine detection has spoken."""

    CONTINUE = "continue"  # a person (or unknown): the conversation goes on
    LEAVE_VOICEMAIL = "leave_voicemail"  # redirect the call to our short message, then hang up
    HANG_UP = "hang_up"  # a machine we already left a message on, or a fax


@dataclass(frozen=True, slots=True)
class StatusResult:
    """What a status callback changed."""

    applied: bool  # False: stale, duplicate or unknown status; nothing changed
    status: AttemptStatus
    next: NextStep | None = None  # set when the attempt ended: what its job does now


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """What the TwiML for an answered call needs (ids only; no PHI)."""

    attempt_id: uuid.UUID
    lead_id: uuid.UUID
    location_id: uuid.UUID


async def _locked_attempt(
    session: AsyncSession, attempt_id: uuid.UUID, call_sid: str | None
) -> CallAttempt:
    attempt = await session.get(CallAttempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise UnknownAttempt("no such attempt")
    if call_sid is not None:
        if attempt.twilio_call_sid is None:
            # The callback beat the dialer's own write of the SID (or the dialer died).
            attempt.twilio_call_sid = call_sid
        elif attempt.twilio_call_sid != call_sid:
            raise UnknownAttempt("the attempt belongs to another call")
    return attempt


async def record_call_status(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    call_sid: str,
    call_status: str,
    duration_s: int | None,
    at: datetime,
) -> StatusResult:
    """Apply one status callback to its attempt (and, when final, to its job).

    Args:
        session: The caller's transaction.
        attempt_id: From the callback URL (we put it there when dialing).
        call_sid: Twilio's `CallSid`.
        call_status: Twilio's `CallStatus`.
        duration_s: `CallDuration`, on final callbacks.
        at: When the callback was received.

    Returns:
        Whether anything changed, the attempt's status, and the job's next step if it ended.

    Raises:
        UnknownAttempt: No such attempt, or it belongs to another call.
    """
    attempt = await _locked_attempt(session, attempt_id, call_sid)
    new = TWILIO_STATUS.get(call_status)
    if new is None or rank(new) <= rank(attempt.status):
        return StatusResult(applied=False, status=attempt.status)
    if new is AttemptStatus.IN_PROGRESS:
        attempt.answered_at = attempt.answered_at or at
    if new not in FINAL:
        attempt.status = new
        return StatusResult(applied=True, status=new)
    attempt.duration_s = duration_s
    outcome = _final_outcome(attempt, new)
    attempt.status = AttemptStatus.VOICEMAIL if outcome is Outcome.VOICEMAIL else new
    step = await conclude(session=session, attempt=attempt, outcome=outcome, at=at)
    return StatusResult(applied=True, status=attempt.status, next=step)


def _final_outcome(attempt: CallAttempt, status: AttemptStatus) -> Outcome:
    if status is not AttemptStatus.COMPLETED:
        return _FINAL_OUTCOME[status]
    if attempt.outcome is not None:
        # The conversation (or AMD) already said how it went: opted out, wrong number, fax…
        try:
            return Outcome(attempt.outcome)
        except ValueError:
            return Outcome.CONVERSATION
    answered_by = attempt.answered_by or ""
    if answered_by.startswith("machine"):
        return Outcome.VOICEMAIL
    if answered_by == "fax":
        return Outcome.FAX
    return Outcome.CONVERSATION


async def placed_attempts(*, session: AsyncSession, job_id: uuid.UUID) -> int:
    """How many dials of this job reached Twilio (attempts with a Call SID)."""
    count = await session.scalar(
        select(func.count())
        .select_from(CallAttempt)
        .where(CallAttempt.job_id == job_id, CallAttempt.twilio_call_sid.is_not(None))
    )
    return int(count or 0)


async def conclude(
    *, session: AsyncSession, attempt: CallAttempt, outcome: Outcome, at: datetime
) -> NextStep | None:
    """End an attempt and settle its job by the clinic's retry policy.

    Args:
        session: The caller's transaction (the attempt is already locked in it).
        attempt: The attempt that ended.
        outcome: How it ended.
        at: When.

    Returns:
        The job's next step, or None when the job had already moved on (cancelled by a DND,
        or settled by an earlier callback).
    """
    attempt.outcome = outcome.value
    attempt.ended_at = attempt.ended_at or at
    if attempt.status in LIVE:
        attempt.status = AttemptStatus.FAILED
    # An unanswered dial reaches GHL (a tag, the last-outcome field) with its final status.
    await crm_outbox.enqueue_attempt_result(
        session=session,
        attempt_id=attempt.id,
        lead_id=attempt.lead_id,
        location_id=attempt.location_id,
        outcome=outcome.value,
        voicemail_left=attempt.voicemail_left_at is not None,
    )
    if attempt.job_id is None:
        return None
    job = await session.get(CallJob, attempt.job_id, with_for_update=True)
    if job is None or job.status not in _SETTLEABLE:
        return None
    if job.status is JobStatus.PENDING and not await _is_latest(session, attempt):
        # A job waiting for its next dial is only settled by its newest attempt (one whose
        # dial request went unanswered and turned out to ring after all).
        return None
    location = await session.get_one(Location, attempt.location_id)
    lead = await session.get_one(Lead, attempt.lead_id)
    options = options_of(location)
    policy = policy_from(
        delays_minutes=options.retry_delays_minutes, max_attempts=options.max_call_attempts
    )
    job.attempts_made = await placed_attempts(session=session, job_id=job.id)
    step = next_step(
        policy=policy,
        outcome=outcome,
        attempts_made=job.attempts_made,
        ended_at=at,
        zone=_zone(lead.timezone, location.timezone),
    )
    if step.due_at is not None:
        job.status = JobStatus.PENDING
    else:
        job.status = JobStatus.BLOCKED if outcome in _BLOCKING else JobStatus.DONE
    job.due_at = step.due_at
    job.reason = step.reason
    job.lease_until = None
    job.claimed_by = None
    job.updated_at = utcnow()
    logger.info(
        "attempt ended: attempt={} outcome={} job={} next={}",
        attempt.id,
        outcome.value,
        job.status.value,
        step.due_at.isoformat() if step.due_at else step.reason,
    )
    return step


async def _is_latest(session: AsyncSession, attempt: CallAttempt) -> bool:
    newest = await session.scalar(
        select(CallAttempt.id)
        .where(CallAttempt.job_id == attempt.job_id)
        .order_by(CallAttempt.started_at.desc())
        .limit(1)
    )
    return newest == attempt.id


def _zone(*names: str | None) -> ZoneInfo:
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


async def record_answered(
    *, session: AsyncSession, attempt_id: uuid.UUID, call_sid: str, at: datetime
) -> AnsweredCall | None:
    """Twilio fetched our TwiML: the call was answered. None if the attempt cannot go on.

    Args:
        session: The caller's transaction.
        attempt_id: From the TwiML URL.
        call_sid: Twilio's `CallSid`.
        at: When.

    Returns:
        The call's ids, or None when the attempt already ended (the caller hangs up).

    Raises:
        UnknownAttempt: No such attempt, or it belongs to another call.
    """
    attempt = await _locked_attempt(session, attempt_id, call_sid)
    if attempt.status in FINAL:
        return None
    if rank(attempt.status) < rank(AttemptStatus.IN_PROGRESS):
        attempt.status = AttemptStatus.IN_PROGRESS
    attempt.answered_at = attempt.answered_at or at
    return AnsweredCall(
        attempt_id=attempt.id, lead_id=attempt.lead_id, location_id=attempt.location_id
    )


async def record_answered_by(
    *, session: AsyncSession, attempt_id: uuid.UUID, call_sid: str, answered_by: str, at: datetime
) -> AmdAction:
    """Store the async AMD verdict and decide what the call does next.

    A machine gets one short message per job: a lead who was already left a message is not
    left another on each retry.

    Args:
        session: The caller's transaction.
        attempt_id: From the callback URL.
        call_sid: Twilio's `CallSid`.
        answered_by: Twilio's `AnsweredBy`.
        at: When.

    Returns:
        The action for the live call.

    Raises:
        UnknownAttempt: No such attempt, or it belongs to another call.
    """
    attempt = await _locked_attempt(session, attempt_id, call_sid)
    attempt.answered_by = answered_by[:32]
    if attempt.status in FINAL:
        return AmdAction.CONTINUE  # the call is over; nothing to redirect
    if answered_by == "fax":
        attempt.outcome = Outcome.FAX.value
        return AmdAction.HANG_UP
    if not answered_by.startswith("machine"):
        return AmdAction.CONTINUE
    attempt.outcome = Outcome.VOICEMAIL.value
    already = await session.scalar(
        select(func.count())
        .select_from(CallAttempt)
        .where(CallAttempt.job_id == attempt.job_id, CallAttempt.voicemail_left_at.is_not(None))
    )
    if already:
        return AmdAction.HANG_UP
    attempt.voicemail_left_at = at
    return AmdAction.LEAVE_VOICEMAIL


async def record_stream(
    *,
    session: AsyncSession,
    attempt_id: uuid.UUID,
    call_sid: str,
    stream_sid: str,
    started: bool,
    at: datetime,
) -> bool:
    """Note that the media stream of an attempt started or stopped.

    Args:
        session: The caller's transaction.
        attempt_id: From the stream's parameters.
        call_sid: From the stream's `start` message.
        stream_sid: Twilio's `streamSid`.
        started: True for `start`, False for the end of the stream.
        at: When.

    Returns:
        For a start, whether the call may go on (False: the attempt already ended).

    Raises:
        UnknownAttempt: No such attempt, or it belongs to another call.
    """
    attempt = await _locked_attempt(session, attempt_id, call_sid)
    if not started:
        attempt.stream_ended_at = attempt.stream_ended_at or at
        return True
    if attempt.status in FINAL:
        return False
    attempt.stream_sid = stream_sid[:64]
    attempt.stream_started_at = attempt.stream_started_at or at
    if rank(attempt.status) < rank(AttemptStatus.IN_PROGRESS):
        attempt.status = AttemptStatus.IN_PROGRESS
    return True


async def get_attempt(*, session: AsyncSession, attempt_id: uuid.UUID) -> CallAttempt:
    """An attempt by id.

    Raises:
        UnknownAttempt: There is none.
    """
    attempt = await session.get(CallAttempt, attempt_id)
    if attempt is None:
        raise UnknownAttempt("no such attempt")
    return attempt


async def record_outcome(*, session: AsyncSession, attempt_id: uuid.UUID, outcome: Outcome) -> bool:
    """Note how the conversation went, for the final status callback to settle the job by.

    Args:
        session: The caller's transaction.
        attempt_id: The call's attempt.
        outcome: What the conversation decided (opted out, wrong number, a conversation).

    Returns:
        False when the attempt had already ended (its job was settled as a conversation).

    Raises:
        UnknownAttempt: There is no such attempt.
    """
    attempt = await session.get(CallAttempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise UnknownAttempt("no such attempt")
    if attempt.status in FINAL:
        return False
    if outcome is Outcome.CONVERSATION and attempt.outcome is not None:
        # AMD already said machine or fax (the redirect then ended the stream): "someone
        # talked" must not turn a voicemail into a finished job.
        return True
    attempt.outcome = outcome.value
    return True


async def latest_attempt(*, session: AsyncSession) -> CallAttempt | None:
    """The most recently started attempt of all (the demo's one call)."""
    return await session.scalar(
        select(CallAttempt).order_by(CallAttempt.started_at.desc()).limit(1)
    )
