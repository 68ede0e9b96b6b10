"""An attempt's state machine under Twilio's callbacks, and what it does to the job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from dentalvoice.db import Database
from dentalvoice.dialer import progress
from dentalvoice.dialer.models import AttemptStatus, CallAttempt, CallJob, JobStatus
from dentalvoice.dialer.progress import AmdAction, UnknownAttempt
from dentalvoice.dialer.retry import Outcome
from tests.compliance.test_flows import MORNING
from tests.dialer.test_claim import Clock, add_jobs, add_location, job
from tests.dialer.test_worker import FakeDialer, worker

LATER = MORNING + timedelta(minutes=1)


async def dialed(
    db: Database, clock: Clock | None = None, n: int = 0
) -> tuple[uuid.UUID, CallAttempt]:
    """A job dialed once by the worker (clinic `n`); returns its id and its attempt."""
    location_id = await add_location(db, n)
    (job_id,) = await add_jobs(db, location_id, MORNING, first=n)
    assert await worker(db, FakeDialer(), clock or Clock(MORNING)).run_once() == 1
    return job_id, await latest(db, job_id)


async def latest(db: Database, job_id: uuid.UUID) -> CallAttempt:
    async with db.reader() as session:
        rows = await session.execute(
            CallAttempt.__table__.select()
            .where(CallAttempt.job_id == job_id)
            .order_by(CallAttempt.started_at.desc())
        )
        attempt_id = rows.first().id  # type: ignore[union-attr]
        return await session.get_one(CallAttempt, attempt_id)


async def status(
    db: Database, attempt: CallAttempt, call_status: str, duration: int | None = None
) -> progress.StatusResult:
    assert attempt.twilio_call_sid is not None
    async with db.transaction() as session:
        return await progress.record_call_status(
            session=session,
            attempt_id=attempt.id,
            call_sid=attempt.twilio_call_sid,
            call_status=call_status,
            duration_s=duration,
            at=LATER,
        )


async def amd(db: Database, attempt: CallAttempt, answered_by: str) -> AmdAction:
    assert attempt.twilio_call_sid is not None
    async with db.transaction() as session:
        return await progress.record_answered_by(
            session=session,
            attempt_id=attempt.id,
            call_sid=attempt.twilio_call_sid,
            answered_by=answered_by,
            at=LATER,
        )


async def test_callbacks_only_move_forward_whatever_their_order(db: Database) -> None:
    job_id, attempt = await dialed(db)

    assert (await status(db, attempt, "in-progress")).applied
    late = await status(db, attempt, "ringing")
    assert (late.applied, late.status) == (False, AttemptStatus.IN_PROGRESS)
    final = await status(db, attempt, "completed", duration=42)
    again = await status(db, attempt, "completed", duration=42)

    assert final.applied and not again.applied
    row = await latest(db, job_id)
    assert (row.status, row.outcome, row.duration_s) == (
        AttemptStatus.COMPLETED,
        "conversation",
        42,
    )
    assert row.answered_at == LATER and row.ended_at == LATER
    settled = await job(db, job_id)
    assert (settled.status, settled.reason, settled.attempts_made) == (
        JobStatus.DONE,
        "conversation",
        1,
    )


@pytest.mark.parametrize(
    ("call_status", "attempt_status"),
    [
        ("no-answer", AttemptStatus.NO_ANSWER),
        ("busy", AttemptStatus.BUSY),
        ("failed", AttemptStatus.FAILED),
    ],
)
async def test_an_unanswered_call_is_retried_by_the_policy(
    db: Database, call_status: str, attempt_status: AttemptStatus
) -> None:
    job_id, attempt = await dialed(db)

    result = await status(db, attempt, call_status)

    assert result.next is not None and result.next.due_at == LATER + timedelta(minutes=10)
    assert (await latest(db, job_id)).status is attempt_status
    row = await job(db, job_id)
    assert (row.status, row.due_at, row.reason) == (
        JobStatus.PENDING,
        LATER + timedelta(minutes=10),
        call_status.replace("-", "_"),
    )


async def test_a_callback_for_another_call_or_no_attempt_is_refused(db: Database) -> None:
    _, attempt = await dialed(db)
    async with db.transaction() as session:
        with pytest.raises(UnknownAttempt):
            await progress.record_call_status(
                session=session,
                attempt_id=attempt.id,
                call_sid="CA" + "0" * 32,
                call_status="completed",
                duration_s=None,
                at=LATER,
            )
        with pytest.raises(UnknownAttempt):
            await progress.record_call_status(
                session=session,
                attempt_id=uuid.uuid4(),
                call_sid="CA" + "0" * 32,
                call_status="completed",
                duration_s=None,
                at=LATER,
            )


async def test_a_machine_gets_one_voicemail_per_job(db: Database) -> None:
    clock = Clock(MORNING)
    job_id, first = await dialed(db, clock)

    assert await amd(db, first, "machine_end_beep") is AmdAction.LEAVE_VOICEMAIL
    await status(db, first, "completed", duration=20)
    row = await job(db, job_id)
    assert (row.status, row.reason) == (JobStatus.PENDING, "voicemail")
    assert (await latest(db, job_id)).status is AttemptStatus.VOICEMAIL

    assert row.due_at is not None
    clock.now = row.due_at
    assert await worker(db, FakeDialer(), clock).run_once() == 1
    second = await latest(db, job_id)
    assert second.id != first.id
    assert await amd(db, second, "machine_end_silence") is AmdAction.HANG_UP


async def test_a_person_continues_and_a_fax_ends_the_job(db: Database) -> None:
    job_id, attempt = await dialed(db)
    assert await amd(db, attempt, "human") is AmdAction.CONTINUE

    other_job, fax = await dialed(db, n=1)
    assert await amd(db, fax, "fax") is AmdAction.HANG_UP
    await status(db, fax, "completed", duration=3)
    row = await job(db, other_job)
    assert (row.status, row.reason) == (JobStatus.DONE, "fax")


async def test_a_final_status_before_the_dialer_stored_the_sid_settles_the_job(
    db: Database,
) -> None:
    """A very fast `busy` can beat the worker's own write; the job is settled once, by it."""
    location_id = await add_location(db)
    (job_id,) = await add_jobs(db, location_id, MORNING)

    class RacingDialer(FakeDialer):
        async def place_call(self, **kwargs: object) -> str:  # type: ignore[override]
            sid = await super().place_call(**kwargs)  # type: ignore[arg-type]
            attempt_id = kwargs["attempt_id"]
            assert isinstance(attempt_id, uuid.UUID)
            async with db.transaction() as session:
                await progress.record_call_status(
                    session=session,
                    attempt_id=attempt_id,
                    call_sid=sid,
                    call_status="busy",
                    duration_s=None,
                    at=MORNING,
                )
            return sid

    assert await worker(db, RacingDialer(), Clock(MORNING)).run_once() == 1

    attempt = await latest(db, job_id)
    assert attempt.status is AttemptStatus.BUSY and attempt.twilio_call_sid is not None
    row = await job(db, job_id)
    assert (row.status, row.reason, row.claimed_by) == (JobStatus.PENDING, "busy", None)
    assert row.due_at == MORNING + timedelta(minutes=10)


async def test_a_cancelled_job_is_not_revived_by_its_calls_final_status(db: Database) -> None:
    job_id, attempt = await dialed(db)
    async with db.transaction() as session:
        (await session.get_one(CallJob, job_id)).status = JobStatus.CANCELLED

    result = await status(db, attempt, "no-answer")

    assert result.applied and result.next is None
    assert (await job(db, job_id)).status is JobStatus.CANCELLED


async def test_a_conversation_does_not_overwrite_what_amd_found(db: Database) -> None:
    """The voice pipeline ends when a voicemail redirect stops the stream; the machine stays."""
    job_id, attempt = await dialed(db)
    assert await amd(db, attempt, "machine_end_beep") is AmdAction.LEAVE_VOICEMAIL
    async with db.transaction() as session:
        assert await progress.record_outcome(
            session=session, attempt_id=attempt.id, outcome=Outcome.CONVERSATION
        )
        assert await progress.record_outcome(
            session=session, attempt_id=attempt.id, outcome=Outcome.CONVERSATION
        )

    await status(db, attempt, "completed", duration=12)

    assert (await latest(db, job_id)).status is AttemptStatus.VOICEMAIL
    assert (await job(db, job_id)).reason == "voicemail"


async def test_an_opt_out_wins_over_what_amd_found(db: Database) -> None:
    job_id, attempt = await dialed(db)
    await amd(db, attempt, "unknown")
    async with db.transaction() as session:
        await progress.record_outcome(
            session=session, attempt_id=attempt.id, outcome=Outcome.OPTED_OUT
        )
    await status(db, attempt, "completed", duration=12)
    assert (await job(db, job_id)).reason == "opted_out"
