"""The dial worker end to end against a fake dialer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncScope, DncSource
from dentalvoice.db import Database
from dentalvoice.dialer.limits import CallsPerSecond, ConcurrencyLimits
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.dialer.worker import BUSY_CLINIC_DELAY, DIAL_ERROR_BACKOFF, DialWorker
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
        if self.fail:
            raise RuntimeError("twilio said no")
        return f"CA{attempt_id.hex}"


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
        lease=timedelta(seconds=0.2),
        **kwargs,  # type: ignore[arg-type]
    )


async def attempts(db: Database) -> list[CallAttempt]:
    async with db.reader() as session:
        return list((await session.execute(select(CallAttempt))).scalars())


async def test_a_due_job_is_dialed_once_and_done(db: Database) -> None:
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
    assert (row.status, row.attempts_made, row.claimed_by) == (JobStatus.DONE, 1, None)


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
    limits = ConcurrencyLimits()
    # Two calls of this clinic are in progress elsewhere in the process.
    assert limits.try_acquire(location_id, 2) and limits.try_acquire(location_id, 2)
    dialer = FakeDialer()
    clock = Clock(MORNING)
    w = worker(db, dialer, clock, limits=limits, per_location_concurrency=2)

    assert await w.run_once() == 1
    row = await job(db, job_id)
    assert dialer.calls == []
    assert (row.status, row.due_at) == (JobStatus.PENDING, MORNING + BUSY_CLINIC_DELAY)

    limits.release(location_id)
    clock.now = MORNING + BUSY_CLINIC_DELAY
    assert await w.run_once() == 1
    assert len(dialer.calls) == 1 and (await job(db, job_id)).status is JobStatus.DONE
    assert limits.active(location_id) == 1  # the dial's own slot was given back


class RefusalLimits(ConcurrencyLimits):
    """Counts refusals, and says when `expected` of them happened."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.refusals = 0
        self.all_refused = asyncio.Event()

    def try_acquire(self, location_id: uuid.UUID, limit: int) -> bool:
        taken = super().try_acquire(location_id, limit)
        if not taken:
            self.refusals += 1
            if self.refusals == self.expected:
                self.all_refused.set()
        return taken


@dataclass
class HeldDialer(FakeDialer):
    """Keeps each call in flight until `release` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)

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
        await self.release.wait()
        return await super().place_call(
            attempt_id=attempt_id,
            idempotency_key=idempotency_key,
            to=to,
            from_=from_,
            lead_id=lead_id,
            location_id=location_id,
        )


async def test_one_clinic_never_has_more_dials_in_flight_than_its_limit(db: Database) -> None:
    location_id = await add_location(db)
    await add_jobs(db, location_id, MORNING, count=3)
    limits = RefusalLimits(expected=2)
    dialer = HeldDialer(release=limits.all_refused)
    w = worker(db, dialer, Clock(MORNING), limits=limits, per_location_concurrency=1)

    async with asyncio.timeout(5):
        assert await w.run_once() == 3

    assert len(dialer.calls) == 1 and limits.active(location_id) == 0
    async with db.reader() as session:
        rows = list((await session.execute(select(CallJob))).scalars())
    assert sorted((r.status, r.reason) for r in rows) == [
        (JobStatus.DONE, None),
        (JobStatus.PENDING, "busy"),
        (JobStatus.PENDING, "busy"),
    ]


async def test_a_dialer_failure_fails_the_attempt_and_retries_later(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    dialer = FakeDialer(fail=True)

    assert await worker(db, dialer, Clock(MORNING)).run_once() == 1

    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.twilio_call_sid) == (AttemptStatus.FAILED, None)
    row = await job(db, job_id)
    assert (row.status, row.due_at, row.attempts_made) == (
        JobStatus.PENDING,
        MORNING + DIAL_ERROR_BACKOFF,
        0,
    )


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
    assert (await job(db, job_id)).status is JobStatus.DONE


async def test_a_queued_attempt_without_sid_is_never_redialed(db: Database) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    clock = Clock(MORNING)
    # The first holder recorded its attempt and died before it stored a SID.
    async with db.transaction() as session:
        await session.execute(
            update(CallJob)
            .where(CallJob.id == job_id)
            .values(status=JobStatus.CLAIMED, claimed_by="crashed", lease_until=MORNING)
        )
        lead_id = (await session.get_one(CallJob, job_id)).lead_id
        attempt_id = uuid.uuid4()
        session.add(
            CallAttempt(
                id=attempt_id,
                job_id=job_id,
                lead_id=lead_id,
                location_id=location_id,
                phone_hash="x" * 64,
                started_at=MORNING - timedelta(seconds=1),
                status=AttemptStatus.QUEUED,
                idempotency_key=attempt_id.hex,
            )
        )
    dialer = FakeDialer()
    clock.now = MORNING + timedelta(seconds=1)

    assert await worker(db, dialer, clock, name="next").run_once() == 1

    assert dialer.calls == []
    (attempt,) = await attempts(db)
    assert (attempt.status, attempt.outcome) == (AttemptStatus.FAILED, "unknown")
    row = await job(db, job_id)
    assert (row.status, row.reason) == (JobStatus.DONE, "dial_outcome_unknown")


async def test_two_workers_racing_dial_each_job_exactly_once(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one in-process claimer; the race is PostgreSQL's")
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
    assert statuses == {JobStatus.DONE}


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
