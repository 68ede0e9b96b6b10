"""Claiming due call jobs under a lease, finishing them, and finding the next due time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dentalvoice.db.base import utcnow
from dentalvoice.db.engine import Database
from dentalvoice.dialer.models import CallJob, JobStatus

_LEASED = (JobStatus.CLAIMED, JobStatus.CALLING)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker holds until its lease ends."""

    job_id: uuid.UUID
    lead_id: uuid.UUID
    location_id: uuid.UUID
    attempts_made: int


def _claimable(now: datetime) -> ColumnElement[bool]:
    # An expired lease means its worker died or stalled: the job is fair game again.
    # A CALLING job past its give-up time lost its final callback: it is looked at again.
    return or_(
        and_(CallJob.status == JobStatus.PENDING, CallJob.due_at <= now),
        and_(CallJob.status.in_(_LEASED), CallJob.lease_until < now),
    )


async def claim_due(
    *, db: Database, worker_id: str, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedJob]:
    """Take up to `limit` due jobs (and jobs whose lease expired) for `worker_id`.

    On PostgreSQL concurrent claimers skip each other's locked rows, so no job is handed out
    twice; on SQLite the database's write lock makes the one in-process claimer exclusive.

    Args:
        db: The database.
        worker_id: Who holds the lease (stored in `claimed_by`).
        now: The current time; jobs due at or before it are taken.
        lease: How long the claim holds before another worker may take the job over.
        limit: The most jobs to take.

    Returns:
        The claimed jobs, earliest due first.
    """
    if limit <= 0:
        return []
    due = select(CallJob.id).where(_claimable(now)).order_by(CallJob.due_at).limit(limit)
    if not db.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    # One UPDATE … RETURNING: atomic on SQLite too, so even two processes on one SQLite file
    # (`serve --workers 2`, or `worker` beside `serve`) cannot claim a job twice.
    stmt = (
        update(CallJob)
        .where(CallJob.id.in_(due.scalar_subquery()))
        .values(
            status=JobStatus.CLAIMED,
            lease_until=now + lease,
            claimed_by=worker_id,
            updated_at=utcnow(),
        )
        .returning(
            CallJob.id, CallJob.lead_id, CallJob.location_id, CallJob.attempts_made, CallJob.due_at
        )
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        claimed = (await session.execute(stmt)).all()
    rows = sorted(claimed, key=lambda row: (row.due_at is None, row.due_at))
    return [
        ClaimedJob(
            job_id=row.id,
            lead_id=row.lead_id,
            location_id=row.location_id,
            attempts_made=row.attempts_made,
        )
        for row in rows
    ]


async def finish_in(
    *,
    session: AsyncSession,
    job_id: uuid.UUID,
    worker_id: str,
    status: JobStatus,
    due_at: datetime | None = None,
    reason: str | None = None,
    count_attempt: bool = False,
    lease_until: datetime | None = None,
) -> bool:
    """`finish` inside the caller's transaction (so it commits with the caller's other writes).

    Args:
        session: The caller's session.
        job_id: The claimed job.
        worker_id: The worker that claimed it.
        status: The job's new status.
        due_at: The new due time (for `PENDING`); `None` clears it.
        reason: Why (stored, at most 200 characters; never PHI).
        count_attempt: Add one to `attempts_made`.
        lease_until: For `CALLING`, when to give up waiting for the call's final callback.

    Returns:
        Whether the job was still this worker's and was updated.
    """
    result = await session.execute(
        update(CallJob)
        .where(
            CallJob.id == job_id,
            CallJob.status == JobStatus.CLAIMED,
            CallJob.claimed_by == worker_id,
        )
        .values(
            status=status,
            due_at=due_at,
            reason=reason[:200] if reason is not None else None,
            lease_until=lease_until,
            claimed_by=None,
            attempts_made=CallJob.attempts_made + (1 if count_attempt else 0),
            updated_at=utcnow(),
        )
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


async def finish(
    *,
    db: Database,
    job_id: uuid.UUID,
    worker_id: str,
    status: JobStatus,
    due_at: datetime | None = None,
    reason: str | None = None,
    count_attempt: bool = False,
) -> bool:
    """Release a claimed job with its outcome, unless another worker has taken it over.

    Args:
        db: The database.
        job_id: The claimed job.
        worker_id: The worker that claimed it.
        status: The job's new status.
        due_at: The new due time (for `PENDING`); `None` clears it.
        reason: Why (stored, at most 200 characters; never PHI).
        count_attempt: Add one to `attempts_made`.

    Returns:
        Whether the job was still this worker's and was updated.
    """
    async with db.transaction() as session:
        return await finish_in(
            session=session,
            job_id=job_id,
            worker_id=worker_id,
            status=status,
            due_at=due_at,
            reason=reason,
            count_attempt=count_attempt,
        )


async def next_due_at(*, db: Database) -> datetime | None:
    """When the next job becomes claimable: the earliest pending due time or lease end.

    Args:
        db: The database.

    Returns:
        That moment (possibly already past), or `None` when nothing is waiting.
    """
    async with db.reader() as session:
        pending = await session.scalar(
            select(func.min(CallJob.due_at)).where(CallJob.status == JobStatus.PENDING)
        )
        leased = await session.scalar(
            select(func.min(CallJob.lease_until)).where(CallJob.status.in_(_LEASED))
        )
    moments = [m for m in (pending, leased) if m is not None]
    return min(moments) if moments else None
