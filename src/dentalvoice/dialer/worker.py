"""The dial worker: claim due jobs, re-check the gate, record the attempt, then dial."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from loguru import logger
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.compliance.models import DecisionKind, DecisionPurpose
from dentalvoice.compliance.service import decide_for_lead
from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.claim import ClaimedJob, claim_due, finish_in, next_due_at
from dentalvoice.dialer.limits import CallsPerSecond, ConcurrencyLimits
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, JobStatus
from dentalvoice.leads.models import Lead
from dentalvoice.locations.models import Location

# A clinic at its concurrency limit is looked at again this much later.
BUSY_CLINIC_DELAY = timedelta(seconds=5)
# After the dialer raised, the job waits this long before the next try.
DIAL_ERROR_BACKOFF = timedelta(seconds=60)


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

    A dial ends the job as `DONE` as soon as the call is placed; status callbacks (a later
    part of the dialer) re-open it for a retry when the call was not answered.
    """

    def __init__(
        self,
        *,
        db: Database,
        dialer: Dialer,
        worker_id: str,
        cps: CallsPerSecond,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = timedelta(seconds=60),
        per_location_concurrency: int = 2,
        batch: int = 10,
        max_idle: timedelta = timedelta(seconds=5),
        limits: ConcurrencyLimits | None = None,
    ) -> None:
        """Create a worker.

        Args:
            db: The database.
            dialer: What places calls.
            worker_id: This worker's name in `call_job.claimed_by` (at most 64 characters).
            cps: The calls-per-second limiter, shared by every worker of the process.
            clock: The current time (injectable for tests).
            lease: How long a claim holds before another worker may take a job over.
            per_location_concurrency: The most calls one clinic has in progress.
            batch: The most jobs claimed (and dialed concurrently) per round.
            max_idle: The longest wait between rounds when nothing wakes the worker.
            limits: The per-clinic counters, shared by every worker of the process.
        """
        self._db = db
        self._dialer = dialer
        self._worker_id = worker_id
        self._cps = cps
        self._clock = clock
        self._lease = lease
        self._per_location = per_location_concurrency
        self._batch = batch
        self._max_idle = max_idle
        self._limits = limits if limits is not None else ConcurrencyLimits()
        self._wake = asyncio.Event()

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
            await self._process(job)
        except Exception as exc:  # noqa: BLE001
            logger.error(
                "dial job failed: job={} worker={} error={}",
                job.job_id,
                self._worker_id,
                type(exc).__name__,
            )

    async def _process(self, job: ClaimedJob) -> None:
        slot = False
        try:
            async with self._db.transaction() as session:
                dial, slot = await self._gate(session, job)
            if dial is not None:
                await self._dial(job, dial)
        finally:
            if slot:
                self._limits.release(job.location_id)

    async def _finish(
        self,
        session: AsyncSession,
        job: ClaimedJob,
        status: JobStatus,
        *,
        due_at: datetime | None = None,
        reason: str | None = None,
        count_attempt: bool = False,
    ) -> None:
        done = await finish_in(
            session=session,
            job_id=job.job_id,
            worker_id=self._worker_id,
            status=status,
            due_at=due_at,
            reason=reason,
            count_attempt=count_attempt,
        )
        if not done:
            logger.warning("job lease lost: job={} worker={}", job.job_id, self._worker_id)

    async def _gate(self, session: AsyncSession, job: ClaimedJob) -> tuple[_Dial | None, bool]:
        """Decide the job in one transaction; returns the dial to place and whether a slot
        was taken (the attempt row commits with this transaction, before any dialing)."""
        now = self._clock()
        latest = await session.scalar(
            select(CallAttempt)
            .where(CallAttempt.job_id == job.job_id)
            .order_by(CallAttempt.started_at.desc())
            .limit(1)
        )
        if latest is not None and latest.status is AttemptStatus.QUEUED:
            # A previous holder recorded an attempt and died before it stored a SID: the call
            # may or may not have gone out. Dialing again could ring the person twice, so the
            # attempt is closed as unknown and the job is not re-dialed here.
            if latest.started_at + self._lease > now:
                await self._finish(
                    session, job, JobStatus.PENDING, due_at=latest.started_at + self._lease
                )
                return None, False
            latest.status = AttemptStatus.FAILED
            latest.outcome = "unknown"
            latest.ended_at = now
            await self._finish(session, job, JobStatus.DONE, reason="dial_outcome_unknown")
            return None, False

        lead = await session.get(Lead, job.lead_id)
        location = await session.get(Location, job.location_id)
        if lead is None or location is None or lead.phone_e164 is None or lead.phone_hash is None:
            await self._finish(session, job, JobStatus.BLOCKED, reason="no_phone")
            return None, False
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
            return None, False
        if decision.kind is DecisionKind.DEFER:
            await self._finish(
                session,
                job,
                JobStatus.PENDING,
                due_at=decision.not_before or now + BUSY_CLINIC_DELAY,
                reason=",".join(decision.reasons) or None,
            )
            return None, False
        if not self._limits.try_acquire(job.location_id, self._per_location):
            await self._finish(
                session, job, JobStatus.PENDING, due_at=now + BUSY_CLINIC_DELAY, reason="busy"
            )
            return None, False
        try:
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
        except BaseException:
            self._limits.release(job.location_id)
            raise
        return (
            _Dial(
                attempt_id=attempt_id,
                idempotency_key=attempt_id.hex,
                to=lead.phone_e164,
                from_=location.twilio_from_number,
            ),
            True,
        )

    async def _dial(self, job: ClaimedJob, dial: _Dial) -> None:
        await self._cps.acquire()
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
            # The exception text may quote the number: only its type is logged.
            logger.warning(
                "dial failed: job={} attempt={} error={}",
                job.job_id,
                dial.attempt_id,
                type(exc).__name__,
            )
            async with self._db.transaction() as session:
                await session.execute(
                    update(CallAttempt)
                    .where(CallAttempt.id == dial.attempt_id)
                    .values(
                        status=AttemptStatus.FAILED, outcome="dial_error", ended_at=self._clock()
                    )
                )
                await self._finish(
                    session,
                    job,
                    JobStatus.PENDING,
                    due_at=self._clock() + DIAL_ERROR_BACKOFF,
                    reason="dial_error",
                )
            return
        # The SID and the job's end commit together: a job still claimed never has a dialed
        # attempt whose SID is unknown to the database.
        async with self._db.transaction() as session:
            await session.execute(
                update(CallAttempt)
                .where(CallAttempt.id == dial.attempt_id)
                .values(status=AttemptStatus.RINGING, twilio_call_sid=sid)
            )
            await self._finish(session, job, JobStatus.DONE, count_attempt=True)
        logger.info("dialed: job={} attempt={}", job.job_id, dial.attempt_id)
