"""The dial worker: claim due jobs, re-check the gate, record the attempt, then dial."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from loguru import logger
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance.models import DecisionKind, DecisionPurpose
from dentalvoice.compliance.service import decide_for_lead
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.claim import ClaimedJob, claim_due, finish_in, next_due_at
from dentalvoice.dialer.limits import CallsPerSecond, CpsLimiter
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.dialer.progress import FINAL, LIVE, conclude
from dentalvoice.dialer.retry import MAX_DIAL_ERRORS, Outcome, dial_error_backoff
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location
from dentalvoice.locations.service import options_of
from dentalvoice.telephony.errors import TwilioError

# A clinic at its concurrency limit is looked at again this much later.
BUSY_CLINIC_DELAY = timedelta(seconds=5)
# A dialed job waits this long for its final status callback before the call counts as lost.
CALL_GIVE_UP = timedelta(hours=1)
# Attempts older than this no longer hold one of their clinic's concurrent-call slots, even if
# their final callback never came.
ACTIVE_CALL_HORIZON = timedelta(hours=1)


class Dialer(Protocol):
    """Places one outbound call (the Twilio client is adapted to this)."""

    async def place_call(
        self,
        *,
        attempt_id: uuid.UUID,
        idempotency_key: str,
        to: str,
        from_: str | None,
        lead_id: uuid.UUID,
        location_id: uuid.UUID,
    ) -> str:
        """Start the call.

        Args:
            attempt_id: The `call_attempt` row this dial belongs to.
            idempotency_key: Stable per attempt, so a retried request never dials twice.
            to: The number to call, E.164.
            from_: The clinic's caller id, if it has one.
            lead_id: The lead (for callbacks; never logged with the number).
            location_id: The clinic.

        Returns:
            The provider's call SID.
        """
        ...


@dataclass(frozen=True, slots=True)
class _Dial:
    """What a job needs to be dialed, read inside the gate's transaction."""

    attempt_id: uuid.UUID
    idempotency_key: str
    to: str
    from_: str | None


class DialWorker:
    """Dials due jobs: one instance per process, several processes may run side by side.

    After a dial the job is `CALLING` until Twilio's final status callback settles it
    (`dialer.progress`); a job whose callback never comes is looked at again after
    `CALL_GIVE_UP` and counted as lost.
    """

    def __init__(
        self,
        *,
        db: Database,
        dialer: Dialer,
        worker_id: str,
        cps: CpsLimiter,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(seconds=60),
        per_location_concurrency: int = 2,
        batch: int = 10,
        max_idle: timedelta = timedelta(seconds=5),
        cps_rate: float = 1.0,
    ) -> None:
        """Create a worker.

        Args:
            db: The database.
            dialer: What places calls.
            worker_id: This worker's name in `call_job.claimed_by` (at most 64 characters).
            cps: The calls-per-second limiter (shared by every worker of the account).
            clock: The current time (injectable for tests).
            lease: How long a claim holds before another worker may take a job over.
            per_location_concurrency: A clinic's most calls in progress, unless its options
                say otherwise.
            batch: The most jobs claimed (and dialed concurrently) per round.
            max_idle: The longest wait between rounds when nothing wakes the worker.
            cps_rate: The rate `cps` enforces, to size batches within the lease.
        """
        self._db = db
        self._dialer = dialer
        self._worker_id = worker_id
        self._cps = cps
        self._clock = clock
        self._lease = lease
        self._per_location = per_location_concurrency
        # A claimed job waits for its CPS slot under its lease: claim no more than the
        # rate can start within half a lease.
        self._batch = max(1, min(batch, int(cps_rate * lease.total_seconds() / 2)))
        self._max_idle = max_idle
        self._wake = asyncio.Event()
        # The account-wide slot is taken before the gate; gates take uneven time, so this
        # process also spaces the requests it actually sends (Twilio counts arrivals).
        self._pace = CallsPerSecond(cps_rate)

    def notify(self) -> None:
        """Wake `run` now: intake calls this after it schedules a job."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Dial until `stop` is set, sleeping until a job is due or `notify` is called.

        Args:
            stop: Set to end the loop after the current round.
            wake: An event that wakes the worker (replaces the one `notify` sets).
        """
        if wake is not None:
            self._wake = wake
        while not stop.is_set():
            # Cleared before the round: a notify arriving during it makes the wait return.
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception as exc:  # noqa: BLE001 - the loop must survive a bad round
                logger.error(
                    "dialer round failed: worker={} error={}", self._worker_id, type(exc).__name__
                )
                claimed = 0
            if stop.is_set():
                break
            if claimed >= self._batch:
                continue  # a full batch: more may be due right now
            await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        timeout = self._max_idle.total_seconds()
        try:
            due = await next_due_at(db=self._db)
        except Exception as exc:  # noqa: BLE001 - wait the full idle time and try again
            logger.error("dialer next_due_at failed: error={}", type(exc).__name__)
            due = None
        if due is not None:
            # A small floor: a due job another worker is claiming must not make us spin.
            timeout = min(timeout, max((due - self._clock()).total_seconds(), 0.05))
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim the due jobs and handle each of them concurrently.

        Returns:
            How many jobs were claimed.
        """
        jobs = await claim_due(
            db=self._db,
            worker_id=self._worker_id,
            now=self._clock(),
            lease=self._lease,
            limit=self._batch,
        )
        async with asyncio.TaskGroup() as group:
            for job in jobs:
                group.create_task(self._handle(job))
        return len(jobs)

    async def _handle(self, job: ClaimedJob) -> None:
        # One job's failure must not cancel its siblings; its lease expiry hands it back.
        try:
            # The slot is taken before the gate, so the gate's answer (a DNC added a moment
            # ago included) is at most one network round trip old when the call starts.
            await self._cps.acquire()
            async with self._db.transaction() as session:
                if not await self._still_mine(session, job):
                    return
                dial = await self._gate(session, job)
            if dial is not None:
                await self._dial(job, dial)
        except Exception as exc:  # noqa: BLE001
            logger.error(
                "dial job failed: job={} worker={} error={}",
                job.job_id,
                self._worker_id,
                type(exc).__name__,
            )

    async def _still_mine(self, session: AsyncSession, job: ClaimedJob) -> bool:
        """Lock the job and check this worker still holds it (a long CPS wait can outlast
        the lease, and then another worker may have taken the job over)."""
        holder = await session.scalar(
            select(CallJob.claimed_by)
            .where(CallJob.id == job.job_id, CallJob.status == JobStatus.CLAIMED)
            .with_for_update()
        )
        if holder != self._worker_id:
            logger.info("job taken over before its dial: job={}", job.job_id)
            return False
        return True

    async def _finish(
        self,
        session: AsyncSession,
        job: ClaimedJob,
        status: JobStatus,
        *,
        due_at: datetime | None = None,
        reason: str | None = None,
        count_attempt: bool = False,
        lease_until: datetime | None = None,
    ) -> bool:
        done = await finish_in(
            session=session,
            job_id=job.job_id,
            worker_id=self._worker_id,
            status=status,
            due_at=due_at,
            reason=reason,
            count_attempt=count_attempt,
            lease_until=lease_until,
        )
        if not done:
            # Not an error when a callback already settled the job (a very fast busy).
            logger.info("job moved on without this worker: job={}", job.job_id)
        return done

    async def _recover(
        self, session: AsyncSession, job: ClaimedJob, latest: CallAttempt, now: datetime
    ) -> bool:
        """Handle a job whose newest attempt never ended; True when it may be dialed now."""
        if latest.twilio_call_sid is None and latest.status is AttemptStatus.QUEUED:
            if latest.started_at + self._lease > now:
                # Its dial may still be in flight (or its callbacks on their way): wait.
                await self._finish(
                    session, job, JobStatus.PENDING, due_at=latest.started_at + self._lease
                )
                return False
            # Twilio sends `initiated` for every call it accepts, and that callback stores the
            # SID: none within the lease means the request never reached Twilio.
            latest.status = AttemptStatus.FAILED
            latest.outcome = Outcome.NOT_PLACED.value
            latest.ended_at = now
            return True
        if latest.started_at + CALL_GIVE_UP > now:
            # The call is live (its dialer died after Twilio accepted it): wait for it.
            await self._finish(
                session,
                job,
                JobStatus.CALLING,
                lease_until=latest.started_at + CALL_GIVE_UP,
                reason="adopted",
            )
            return False
        await conclude(session=session, attempt=latest, outcome=Outcome.LOST, at=now)
        return False

    async def _gate(self, session: AsyncSession, job: ClaimedJob) -> _Dial | None:
        """Decide the job in one transaction; returns the dial to place, if any (the attempt
        row commits with this transaction, before any dialing)."""
        now = self._clock()
        latest = await session.scalar(
            select(CallAttempt)
            .where(CallAttempt.job_id == job.job_id)
            .order_by(CallAttempt.started_at.desc())
            .limit(1)
            .with_for_update()
        )
        if (
            latest is not None
            and latest.status not in FINAL
            and not await self._recover(session, job, latest, now)
        ):
            return None

        lead = await session.get(Lead, job.lead_id)
        location = await session.get(Location, job.location_id)
        if lead is None or location is None or lead.phone_e164 is None or lead.phone_hash is None:
            await self._finish(session, job, JobStatus.BLOCKED, reason="no_phone")
            return None
        decision = await decide_for_lead(
            session=session,
            cipher=self._db.cipher,
            lead=lead,
            location=location,
            at=now,
            purpose=DecisionPurpose.DIAL,
        )
        if decision.kind is DecisionKind.BLOCK:
            await self._finish(
                session, job, JobStatus.BLOCKED, reason=",".join(decision.reasons) or "blocked"
            )
            return None
        if decision.kind is DecisionKind.DEFER:
            await self._finish(
                session,
                job,
                JobStatus.PENDING,
                due_at=decision.not_before or now + BUSY_CLINIC_DELAY,
                reason=",".join(decision.reasons) or None,
            )
            return None
        limit = options_of(location).max_concurrent_calls or self._per_location
        if await self._active_calls(session, location.id, now) >= limit:
            await self._finish(
                session, job, JobStatus.PENDING, due_at=now + BUSY_CLINIC_DELAY, reason="busy"
            )
            return None
        attempt_id = uuid.uuid4()
        session.add(
            CallAttempt(
                id=attempt_id,
                job_id=job.job_id,
                lead_id=lead.id,
                location_id=location.id,
                phone_hash=lead.phone_hash,
                started_at=now,
                status=AttemptStatus.QUEUED,
                idempotency_key=attempt_id.hex,
            )
        )
        await session.flush()
        return _Dial(
            attempt_id=attempt_id,
            idempotency_key=attempt_id.hex,
            to=lead.phone_e164,
            from_=location.twilio_from_number,
        )

    async def _active_calls(
        self, session: AsyncSession, location_id: uuid.UUID, now: datetime
    ) -> int:
        """The clinic's calls being placed, ringing or in progress, counted under its row lock.

        Counted in the database, so the limit holds across every worker process; the lock
        (a no-op on SQLite, whose writers are serialised anyway) stops two workers from both
        seeing a free slot.
        """
        # NO KEY UPDATE: it serialises the workers of one clinic but does not conflict with
        # the KEY SHARE locks that inserting rows referencing the clinic takes (FOR UPDATE
        # would, and two workers would deadlock on the gate's own audit insert).
        await session.execute(
            select(Location.id).where(Location.id == location_id).with_for_update(key_share=True)
        )
        count = await session.scalar(
            select(func.count())
            .select_from(CallAttempt)
            .where(
                CallAttempt.location_id == location_id,
                CallAttempt.status.in_(LIVE),
                CallAttempt.started_at > now - ACTIVE_CALL_HORIZON,
            )
        )
        return int(count or 0)

    async def _dial(self, job: ClaimedJob, dial: _Dial) -> None:
        await self._pace.acquire()
        try:
            sid = await self._dialer.place_call(
                attempt_id=dial.attempt_id,
                idempotency_key=dial.idempotency_key,
                to=dial.to,
                from_=dial.from_,
                lead_id=job.lead_id,
                location_id=job.location_id,
            )
        except Exception as exc:  # noqa: BLE001 - any dialer failure is recorded, not raised
            await self._dial_failed(job, dial, exc)
            return
        # The SID and the job's new state commit together. A callback may have got here
        # first (it stores the SID too, and may already have settled the job): only a
        # still-queued attempt moves to ringing, and only a job still ours becomes CALLING.
        now = self._clock()
        async with self._db.transaction() as session:
            await session.execute(
                update(CallAttempt)
                .where(CallAttempt.id == dial.attempt_id, CallAttempt.twilio_call_sid.is_(None))
                .values(twilio_call_sid=sid)
            )
            await session.execute(
                update(CallAttempt)
                .where(
                    CallAttempt.id == dial.attempt_id,
                    CallAttempt.status == AttemptStatus.QUEUED,
                )
                .values(status=AttemptStatus.RINGING)
            )
            await self._finish(
                session,
                job,
                JobStatus.CALLING,
                count_attempt=True,
                lease_until=now + CALL_GIVE_UP,
            )
        logger.info("dialed: job={} attempt={}", job.job_id, dial.attempt_id)

    async def _dial_failed(self, job: ClaimedJob, dial: _Dial, exc: Exception) -> None:
        error = exc if isinstance(exc, TwilioError) else None
        kind = error.outcome if error is not None else "error"
        # The exception text may quote the number: only its kind is logged.
        logger.warning(
            "dial failed: job={} attempt={} kind={} code={}",
            job.job_id,
            dial.attempt_id,
            kind,
            error.code if error is not None else None,
        )
        now = self._clock()
        async with self._db.transaction() as session:
            attempt = await session.get_one(CallAttempt, dial.attempt_id, with_for_update=True)
            attempt.error_code = error.code if error is not None else None
            if error is not None and error.status is None and error.outcome == "unavailable":
                # No answer at all: Twilio may have accepted the call. The attempt stays
                # queued, so its callbacks can still claim it; if none come within the lease,
                # recovery marks it not placed and dials again.
                attempt.outcome = "dial_unknown"
                await self._finish(
                    session, job, JobStatus.PENDING, due_at=now + self._lease, reason="dial_unknown"
                )
                return
            if error is not None and error.outcome == "invalid_number":
                await conclude(
                    session=session, attempt=attempt, outcome=Outcome.INVALID_NUMBER, at=now
                )
                return
            if error is not None and error.outcome == "geo_permission":
                await conclude(
                    session=session, attempt=attempt, outcome=Outcome.GEO_BLOCKED, at=now
                )
                return
            attempt.status = AttemptStatus.FAILED
            attempt.outcome = Outcome.DIAL_ERROR.value
            attempt.ended_at = now
            failures = await session.scalar(
                select(func.count())
                .select_from(CallAttempt)
                .where(
                    CallAttempt.job_id == job.job_id,
                    CallAttempt.outcome == Outcome.DIAL_ERROR.value,
                )
            )
            failures = int(failures or 1)
            if failures >= MAX_DIAL_ERRORS or (error is not None and not error.retryable):
                await self._finish(session, job, JobStatus.DONE, reason=f"dial_error:{kind}")
                return
            await self._finish(
                session,
                job,
                JobStatus.PENDING,
                due_at=now + dial_error_backoff(kind=kind, failures=failures),
                reason=f"dial_error:{kind}",
            )
