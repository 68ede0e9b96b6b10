"""Claiming due jobs under a lease, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from dentalvoice.compliance.dnc import phone_hash
from dentalvoice.config import Settings
from dentalvoice.db import Database, open_database
from dentalvoice.dialer.claim import claim_due, finish, next_due_at
from dentalvoice.dialer.models import CallJob, JobStatus
from dentalvoice.dialer.service import schedule_call
from dentalvoice.leads.models import Lead
from dentalvoice.leads.normalize import mask_phone
from dentalvoice.locations import service as location_service
from tests import factories as f
from tests.compliance.test_flows import MORNING

LEASE = timedelta(seconds=0.2)


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def phone(i: int) -> str:
    """A distinct fictitious Miami number per index (attempt caps count per number)."""
    area = "305" if i < 100 else "786"
    return f"+1{area}55501{i % 100:02d}"


async def add_location(db: Database, n: int = 0) -> uuid.UUID:
    async with db.transaction() as session:
        location = await location_service.create_location(
            session=session,
            location_in=f.location_create(ghl_location_id=f"LocDialer{n:011d}"),
        )
        return location.id


async def add_jobs(
    db: Database, location_id: uuid.UUID, due_at: datetime, count: int = 1, first: int = 0
) -> list[uuid.UUID]:
    """Consented leads with a pending job each; returns the job ids."""
    job_ids = []
    async with db.transaction() as session:
        for i in range(first, first + count):
            number = phone(i)
            lead = Lead(
                location_id=location_id,
                ghl_contact_id=f"c{uuid.uuid4().hex[:20]}",
                phone_e164=number,
                phone_hash=phone_hash(cipher=db.cipher, phone_e164=number),
                phone_masked=mask_phone(number),
                state="FL",
                country="US",
                consent_evidence={"consent": "yes"},
            )
            session.add(lead)
            await session.flush()
            job = await schedule_call(
                session=session,
                lead_id=lead.id,
                location_id=location_id,
                due_at=due_at,
                new_lead=True,
            )
            job_ids.append(job.id)
    return job_ids


async def job(db: Database, job_id: uuid.UUID) -> CallJob:
    async with db.reader() as session:
        return await session.get_one(CallJob, job_id)


async def test_a_due_job_is_claimed_and_a_future_one_is_not(db: Database) -> None:
    location_id = await add_location(db)
    (due,) = await add_jobs(db, location_id, MORNING)
    (later,) = await add_jobs(db, location_id, MORNING + timedelta(minutes=1), first=1)

    claimed = await claim_due(db=db, worker_id="a", now=MORNING, lease=LEASE, limit=10)

    assert [c.job_id for c in claimed] == [due]
    assert claimed[0].location_id == location_id and claimed[0].attempts_made == 0
    row = await job(db, due)
    assert (row.status, row.claimed_by, row.lease_until) == (
        JobStatus.CLAIMED,
        "a",
        MORNING + LEASE,
    )
    assert (await job(db, later)).status is JobStatus.PENDING
    assert await claim_due(db=db, worker_id="b", now=MORNING, lease=LEASE, limit=10) == []
    # The next claimable moment is the held lease's end, before the later job.
    assert await next_due_at(db=db) == MORNING + LEASE


async def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(
    db: Database,
) -> None:
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)
    clock = Clock(MORNING)
    assert await claim_due(db=db, worker_id="a", now=clock(), lease=LEASE, limit=1)

    clock.now += LEASE / 2
    assert await claim_due(db=db, worker_id="b", now=clock(), lease=LEASE, limit=1) == []
    clock.now += LEASE
    taken = await claim_due(db=db, worker_id="b", now=clock(), lease=LEASE, limit=1)

    assert [c.job_id for c in taken] == [job_id]
    assert not await finish(db=db, job_id=job_id, worker_id="a", status=JobStatus.DONE)
    assert await finish(
        db=db, job_id=job_id, worker_id="b", status=JobStatus.DONE, count_attempt=True
    )
    row = await job(db, job_id)
    assert (row.status, row.claimed_by, row.attempts_made) == (JobStatus.DONE, None, 1)
    assert await next_due_at(db=db) is None


async def test_claims_respect_the_limit_and_due_order(db: Database) -> None:
    location_id = await add_location(db)
    late = await add_jobs(db, location_id, MORNING - timedelta(minutes=1), count=2)
    early = await add_jobs(db, location_id, MORNING - timedelta(minutes=2), first=2)

    claimed = await claim_due(db=db, worker_id="a", now=MORNING, lease=LEASE, limit=2)

    assert [c.job_id for c in claimed][0] == early[0]
    assert len(claimed) == 2 and claimed[1].job_id in late


async def test_two_processes_never_claim_the_same_job(db: Database, settings: Settings) -> None:
    """A second engine on the same database stands in for another process (on SQLite it has
    its own write lock, so only the database's own atomicity protects the claim)."""
    location_id = await add_location(db)
    await add_jobs(db, location_id, MORNING, count=120)
    other, _ = open_database(settings)
    try:

        async def drain(database: Database, name: str) -> list[uuid.UUID]:
            taken: list[uuid.UUID] = []
            while batch := await claim_due(
                db=database, worker_id=name, now=MORNING, lease=timedelta(minutes=5), limit=7
            ):
                taken += [c.job_id for c in batch]
            return taken

        first, second = await asyncio.gather(drain(db, "p1"), drain(other, "p2"))
    finally:
        await other.dispose()

    assert len(first) + len(second) == 120
    assert set(first).isdisjoint(second) and len(set(first) | set(second)) == 120
