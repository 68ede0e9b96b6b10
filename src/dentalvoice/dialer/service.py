"""Call jobs: one open job per lead, scheduled, re-scheduled, blocked or cancelled."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dentalvoice.db.base import utcnow
from dentalvoice.dialer.models import CallJob, JobStatus

OPEN = (JobStatus.PENDING, JobStatus.BLOCKED)


async def open_job(*, session: AsyncSession, lead_id: uuid.UUID) -> CallJob | None:
    """The lead's job that is still waiting (pending, or blocked and re-checkable), locked."""
    stmt = (
        select(CallJob)
        .where(CallJob.lead_id == lead_id, CallJob.status.in_(OPEN))
        .order_by(CallJob.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _open_or_new(
    *, session: AsyncSession, lead_id: uuid.UUID, location_id: uuid.UUID, new_lead: bool
) -> CallJob:
    # A lead created in this transaction has no job yet: no need to look for one.
    job = None if new_lead else await open_job(session=session, lead_id=lead_id)
    if job is None:
        job = CallJob(lead_id=lead_id, location_id=location_id, attempts_made=0)
        session.add(job)
    return job


async def schedule_call(
    *,
    session: AsyncSession,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
    due_at: datetime,
    new_lead: bool = False,
) -> CallJob:
    """Make the lead's open job pending at `due_at`, creating it if there is none."""
    job = await _open_or_new(
        session=session, lead_id=lead_id, location_id=location_id, new_lead=new_lead
    )
    job.status = JobStatus.PENDING
    job.due_at = due_at
    job.reason = None
    await session.flush()
    return job


async def block_calls(
    *,
    session: AsyncSession,
    lead_id: uuid.UUID,
    location_id: uuid.UUID,
    reason: str,
    new_lead: bool = False,
) -> CallJob:
    """Record that the gate forbids calling the lead (kept open: a later update may lift it)."""
    job = await _open_or_new(
        session=session, lead_id=lead_id, location_id=location_id, new_lead=new_lead
    )
    job.status = JobStatus.BLOCKED
    job.due_at = None
    job.reason = reason[:200]
    await session.flush()
    return job


async def cancel_calls(*, session: AsyncSession, lead_id: uuid.UUID, reason: str) -> int:
    """Cancel every waiting job of the lead (DND, opt-out); returns how many."""
    result = await session.execute(
        update(CallJob)
        .where(CallJob.lead_id == lead_id, CallJob.status.in_(OPEN))
        .values(status=JobStatus.CANCELLED, reason=reason[:200], due_at=None, updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def jobs_for(*, session: AsyncSession, lead_id: uuid.UUID) -> list[CallJob]:
    """Every job of a lead, oldest first."""
    stmt = select(CallJob).where(CallJob.lead_id == lead_id).order_by(CallJob.created_at)
    return list((await session.execute(stmt)).scalars())
