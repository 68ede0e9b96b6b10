"""The dial worker end to end against a fake dialer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncScope, DncSource
from dentalvoice.db import Database
from dentalvoice.dialer.limits import CallsPerSecond
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.dialer.retry import dial_error_backoff
from dentalvoice.dialer.worker import BUSY_CLINIC_DELAY, CALL_GIVE_UP, DialWorker
from dentalvoice.locations.models import Location
from dentalvoice.telephony.errors import TwilioError
from tests.compliance.test_flows import MORNING, NIGHT
from tests.dialer.test_claim import Clock, add_jobs, add_location, job, phone


@dataclass
class Call:
    attempt_id: uuid.UUID
    idempotency_key: str
    to: str
    lead_id: uuid.UUID


@dataclass
class FakeDialer:
    """Records every call; fails when told to; sets `called` after each call."""

    fail: bool = False
    error: Exception | None = None
    calls: list[Call] = field(default_factory=list)
    called: asyncio.Event = field(default_factory=asyncio.Event)

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
        self.calls.append(Call(attempt_id, idempotency_key, to, lead_id))
        self.called.set()
        await asyncio.sleep(0)  # let sibling dials interleave, as real I/O would
        if self.error is not None:
            raise self.error
        if self.fail:
            raise RuntimeError("twilio said no")
        return f"CA{attempt_id.hex}"


LEASE = timedelta(seconds=0.2)


def fast_cps() -> CallsPerSecond:
    async def no_sleep(_: float) -> None:
        return None

    return CallsPerSecond(1.0, sleep=no_sleep)


def worker(
    db: Database, dialer: FakeDialer, clock: Clock, name: str = "w1", **kwargs: object
) -> DialWorker:
    return DialWorker(
        db=db,
        dialer=dialer,
        worker_id=name,
        cps=fast_cps(),
        clock=clock,
        lease=LEASE,
        cps_rate=1000.0,
        **kwargs,  # type: ignore[arg-type]
    )


async def attempts(db: Database) -> list[CallAttempt]:
    async with db.reader() as session:
        return list((await session.execute(select(CallAttempt))).scalars())


async def add_live_attempt(
    db: Database, location_id: uuid.UUID, job_id: uuid.UUID | None, **values: Any
) -> uuid.UUID:
    """An attempt of the clinic that is still ringing (it holds a concurrency slot)."""
    async with db.transaction() as session:
        lead_id = None
        if job_id is not None:
            lead_id = (await session.get_one(CallJob, job_id)).lead_id
        else:
            lead_id = (await session.execute(select(CallJob.lead_id).limit(1))).scalar_one()
        attempt_id = uuid.uuid4()
        fields: dict[str, Any] = {
            "status": AttemptStatus.RINGING,
            "started_at": MORNING - timedelta(minutes=1),
            "twilio_call_sid": f"CA{attempt_id.hex}",
        }
        fields.update(values)
        session.add(
            CallAttempt(
                id=attempt_id,
                job_id=job_id,
                lead_id=lead_id,
                location_id=location_id,
                phone_hash="x" * 64,
                idempotency_key=attempt_id.hex,
                **fields,
            )
        )
    return attempt_id


async def test_a_due_job_is_dialed_once_and_waits_for_its_call(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer()
    w = worker(db, dialer, Clock(MORNING))

    assert await w.run_once() == 1
    assert await w.run_once() == 0

    assert [c.to for c in dialer.calls] == [phone(0)]
    (attempt,) = await attempts(db)
    call = dialer.calls[0]
    assert attempt.id == call.attempt_id and attempt.idempotency_key == call.idempotency_key
    assert attempt.idempotency_key == attempt.id.hex
    assert (attempt.status, attempt.twilio_call_sid) == (
        AttemptStatus.RINGING,
        f"CA{attempt.id.hex}",
    )
    assert attempt.job_id == job_id and attempt.started_at == MORNING
    row = await job(db, job_id)
    assert (row.status, row.attempts_made, row.claimed_by) == (JobStatus.CALLING, 1, None)
    assert row.lease_until == MORNING + CALL_GIVE_UP


async def test_a_job_not_yet_due_is_left_alone(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING + timedelta(minutes=5))
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(MORNING)).run_once() == 0

    assert dialer.calls == [] and (await job(db, job_id)).status is JobStatus.PENDING


async def test_a_defer_at_dial_time_moves_the_due_time(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, NIGHT - timedelta(hours=2))
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(NIGHT)).run_once() == 1

    row = await job(db, job_id)
    assert dialer.calls == [] and await attempts(db) == []
    assert row.status is JobStatus.PENDING and row.due_at is not None and row.due_at > NIGHT


async def test_a_dnc_added_after_scheduling_blocks_the_dial(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    async with db.transaction() as session:
        await dnc.add(
            session=session,
            cipher=db.cipher,
            phone_e164=phone(0),
            scope=DncScope.LOCATION,
            location_id=location_id,
            source=DncSource.OPERATOR,
        )
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(MORNING)).run_once() == 1

    row = await job(db, job_id)
    assert dialer.calls == [] and await attempts(db) == []
    assert row.status is JobStatus.BLOCKED and row.reason is not None
    assert "internal_dnc" in row.reason.split(",")


async def test_a_clinic_at_its_concurrency_limit_waits(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    # Two calls of this clinic are ringing (placed by any worker, in any process).
    live = [await add_live_attempt(db, location_id, None) for _ in range(2)]
    dialer = FakeDialer()
    clock = Clock(MORNING)
    w = worker(db, dialer, clock, per_location_concurrency=2)

    assert await w.run_once() == 1
    row = await job(db, job_id)
    assert dialer.calls == []
    assert (row.status, row.due_at, row.reason) == (
        JobStatus.PENDING,
        MORNING + BUSY_CLINIC_DELAY,
        "busy",
    )

    async with db.transaction() as session:
        await session.execute(
            update(CallAttempt)
            .where(CallAttempt.id == live[0])
            .values(status=AttemptStatus.COMPLETED)
        )
    clock.now = MORNING + BUSY_CLINIC_DELAY
    assert await w.run_once() == 1
    assert len(dialer.calls) == 1 and (await job(db, job_id)).status is JobStatus.CALLING


async def test_a_clinic_option_overrides_the_concurrency_default(db: Database) -> None:
    location_id = await add_location(db)
    async with db.transaction() as session:
        location = await session.get_one(Location, location_id)
        location.options = {**(location.options or {}), "max_concurrent_calls": 1}
    await add_jobs(db, location_id, MORNING, count=3)
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(MORNING), per_location_concurrency=5).run_once() == 3

    assert len(dialer.calls) == 1
    async with db.reader() as session:
        rows = list((await session.execute(select(CallJob))).scalars())
    assert sorted((r.status, r.reason) for r in rows) == [
        (JobStatus.CALLING, None),
        (JobStatus.PENDING, "busy"),
        (JobStatus.PENDING, "busy"),
    ]


async def test_a_dialer_failure_fails_the_attempt_and_retries_later(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer(fail=True)

    assert await worker(db, dialer, Clock(MORNING)).run_once() == 1

    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.twilio_call_sid, attempt.outcome) == (
        AttemptStatus.FAILED,
        None,
        "dial_error",
    )
    row = await job(db, job_id)
    assert (row.status, row.due_at, row.attempts_made) == (
        JobStatus.PENDING,
        MORNING + dial_error_backoff(kind="error", failures=1),
        0,
    )


async def test_an_invalid_number_blocks_the_job(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer(error=TwilioError(outcome="invalid_number", code=21211, status=400))

    assert await worker(db, dialer, Clock(MORNING)).run_once() == 1

    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.outcome, attempt.error_code) == (
        AttemptStatus.FAILED,
        "invalid_number",
        21211,
    )
    row = await job(db, job_id)
    assert (row.status, row.reason, row.due_at) == (JobStatus.BLOCKED, "invalid_number", None)


async def test_a_rate_limited_dial_backs_off_briefly_and_grows(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer(error=TwilioError(outcome="rate_limited", code=20429, status=429))
    clock = Clock(MORNING)
    w = worker(db, dialer, clock)

    assert await w.run_once() == 1
    first = (await job(db, job_id)).due_at
    assert first == MORNING + timedelta(seconds=2)
    clock.now = first
    assert await w.run_once() == 1

    row = await job(db, job_id)
    assert (row.status, row.reason) == (JobStatus.PENDING, "dial_error:rate_limited")
    assert row.due_at == first + timedelta(seconds=4)
    assert len(dialer.calls) == 2


async def test_an_unanswered_dial_request_waits_for_callbacks_before_redialing(
    db: Database,
) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    # A timeout: Twilio may or may not have accepted the call.
    dialer = FakeDialer(error=TwilioError(outcome="unavailable"))
    clock = Clock(MORNING)
    w = worker(db, dialer, clock)

    assert await w.run_once() == 1
    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.outcome) == (AttemptStatus.QUEUED, "dial_unknown")
    row = await job(db, job_id)
    assert (row.status, row.due_at) == (JobStatus.PENDING, MORNING + LEASE)

    # No callback came within the lease: the call never existed, so it is dialed again.
    dialer.error = None
    clock.now = MORNING + LEASE
    assert await w.run_once() == 1
    first, second = sorted(await attempts(db), key=lambda a: a.started_at)
    assert (first.status, first.outcome) == (AttemptStatus.FAILED, "not_placed")
    assert second.status is AttemptStatus.RINGING and len(dialer.calls) == 2


async def test_an_expired_lease_is_recovered_and_dialed_once(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    async with db.transaction() as session:
        await session.execute(
            update(CallJob)
            .where(CallJob.id == job_id)
            .values(
                status=JobStatus.CLAIMED,
                claimed_by="dead",
                lease_until=MORNING - timedelta(seconds=1),
            )
        )
    dialer = FakeDialer()
    w = worker(db, dialer, Clock(MORNING), name="alive")

    assert await w.run_once() == 1
    assert await w.run_once() == 0

    assert len(dialer.calls) == 1
    assert (await job(db, job_id)).status is JobStatus.CALLING


async def _crashed_holder(db: Database, job_id: uuid.UUID, location_id: uuid.UUID, **values: Any):
    async with db.transaction() as session:
        await session.execute(
            update(CallJob)
            .where(CallJob.id == job_id)
            .values(status=JobStatus.CLAIMED, claimed_by="crashed", lease_until=MORNING)
        )
    return await add_live_attempt(db, location_id, job_id, **values)


async def test_a_dial_that_reached_twilio_is_adopted_not_redialed(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    # The holder died after Twilio accepted the call; its `initiated` callback stored the SID.
    attempt_id = await _crashed_holder(
        db, job_id, location_id, started_at=MORNING - timedelta(seconds=1)
    )
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(MORNING + timedelta(seconds=1))).run_once() == 1

    assert dialer.calls == []
    row = await job(db, job_id)
    assert (row.status, row.reason) == (JobStatus.CALLING, "adopted")
    assert row.lease_until == MORNING - timedelta(seconds=1) + CALL_GIVE_UP
    (attempt,) = await attempts(db)
    assert attempt.id == attempt_id and attempt.status is AttemptStatus.RINGING


async def test_a_recorded_attempt_that_never_reached_twilio_is_redialed_after_the_lease(
    db: Database,
) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    # The holder recorded its attempt and died before dialing: no SID, no callback.
    await _crashed_holder(
        db,
        job_id,
        location_id,
        status=AttemptStatus.QUEUED,
        twilio_call_sid=None,
        started_at=MORNING - timedelta(seconds=1),
    )
    dialer = FakeDialer()

    assert await worker(db, dialer, Clock(MORNING + timedelta(seconds=1))).run_once() == 1

    assert len(dialer.calls) == 1
    old, new = sorted(await attempts(db), key=lambda a: a.started_at)
    assert (old.status, old.outcome) == (AttemptStatus.FAILED, "not_placed")
    assert new.status is AttemptStatus.RINGING
    assert (await job(db, job_id)).status is JobStatus.CALLING


async def test_a_call_whose_final_callback_never_came_is_lost_and_retried(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer()
    clock = Clock(MORNING)
    w = worker(db, dialer, clock)
    assert await w.run_once() == 1

    clock.now = MORNING + CALL_GIVE_UP + timedelta(seconds=1)
    assert await w.run_once() == 1

    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.outcome) == (AttemptStatus.FAILED, "lost")
    row = await job(db, job_id)
    assert (row.status, row.reason) == (JobStatus.PENDING, "lost")
    assert row.due_at == clock.now + timedelta(minutes=10)
    assert len(dialer.calls) == 1


async def test_a_job_taken_over_during_the_cps_wait_is_not_dialed(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)

    class StolenDuringWait(CallsPerSecond):
        async def acquire(self) -> None:
            async with db.transaction() as session:
                await session.execute(
                    update(CallJob).where(CallJob.id == job_id).values(claimed_by="other")
                )

    dialer = FakeDialer()
    w = DialWorker(
        db=db, dialer=dialer, worker_id="slow", cps=StolenDuringWait(), clock=Clock(MORNING)
    )

    assert await w.run_once() == 1

    assert dialer.calls == [] and await attempts(db) == []
    assert (await job(db, job_id)).claimed_by == "other"


async def test_two_workers_racing_dial_each_job_exactly_once(db: Database) -> None:
    location_id = await add_location(db)
    await add_jobs(db, location_id, MORNING, count=200)
    dialer = FakeDialer()
    clock = Clock(MORNING)
    workers = [
        worker(db, dialer, clock, name=name, per_location_concurrency=1000) for name in ("w1", "w2")
    ]

    async def drain(w: DialWorker) -> int:
        total = 0
        while claimed := await w.run_once():
            total += claimed
        return total

    async with asyncio.timeout(60):
        counts = await asyncio.gather(*(drain(w) for w in workers))

    assert sum(counts) == 200 and all(counts)
    assert len(dialer.calls) == 200
    assert len({c.lead_id for c in dialer.calls}) == 200
    assert len(await attempts(db)) == 200
    async with db.reader() as session:
        statuses = set((await session.execute(select(CallJob.status))).scalars())
    assert statuses == {JobStatus.CALLING}


class ObservedWorker(DialWorker):
    """Says when a round has ended."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.round_done = asyncio.Event()

    async def run_once(self) -> int:
        claimed = await super().run_once()
        self.round_done.set()
        return claimed


async def test_run_wakes_on_notify_without_waiting(db: Database) -> None:
    location_id = await add_location(db)
    dialer = FakeDialer()
    # Only a notify can wake the worker within the test's guard.
    w = ObservedWorker(
        db=db,
        dialer=dialer,
        worker_id="w1",
        cps=fast_cps(),
        clock=Clock(MORNING),
        max_idle=timedelta(minutes=10),
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(w.run(stop, asyncio.Event()))
    try:
        async with asyncio.timeout(5):
            await w.round_done.wait()  # the first round found nothing: the worker now idles
            await add_jobs(db, location_id, MORNING)
            w.notify()
            await dialer.called.wait()
    finally:
        stop.set()
        async with asyncio.timeout(5):
            await loop
    assert len(dialer.calls) == 1


async def test_calls_per_second_spaces_call_starts() -> None:
    now = 0.0
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        nonlocal now
        slept.append(seconds)
        now += seconds

    cps = CallsPerSecond(2.0, clock=lambda: now, sleep=fake_sleep)
    await asyncio.gather(*(cps.acquire() for _ in range(3)))

    assert slept == [0.5, 0.5]
