"""The call record and its `call_concluded` event, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from dentalvoice.conversation.agent import TransferReason
from dentalvoice.conversation.qualification import (
    Outcome,
    Qualification,
    TreatmentInterest,
    Urgency,
)
from dentalvoice.db import Database
from dentalvoice.dialer.models import CallAttempt
from dentalvoice.dialer.progress import UnknownAttempt
from dentalvoice.voice import records
from dentalvoice.voice.latency import TurnLatency
from dentalvoice.voice.records import ActionsTaken, CallEvent, CallRecord, TransferStatus
from tests.compliance.test_flows import MORNING
from tests.dialer.test_progress import dialed, status

ENDED = MORNING + timedelta(minutes=3)
SLOT = MORNING + timedelta(days=1, hours=4)
TRANSCRIPT = [
    ("agent", "Hi, this is Ava, an AI assistant calling from Bright Test Dental."),
    ("caller", "Hi, I'm Testina, I'd like implants. My number is 305 555 0123."),
]
SUMMARY = "Testina Fakeperson has severe pain after an extraction."


def qualification() -> Qualification:
    return Qualification(
        chief_complaint="a missing tooth",
        treatment_interest=TreatmentInterest.IMPLANTS,
        urgency=Urgency.ROUTINE,
        preferred_slot=SLOT,
        outcome=Outcome.BOOKED,
        summary="Testina wants implants; booked.",
    )


def latency() -> list[TurnLatency]:
    return [
        TurnLatency(speech_ended=10.0, turn_decided=10.2, transcript_ready=10.4),
        TurnLatency(speech_ended=20.0, reply_ready=20.9, first_audio_sent=21.1),
    ]


async def answered(db: Database, n: int = 0) -> CallAttempt:
    """An attempt the worker dialed and a person answered."""
    _, attempt = await dialed(db, n=n)
    await status(db, attempt, "in-progress")
    return attempt


async def store(db: Database, attempt_id: uuid.UUID, **overrides: object) -> CallRecord:
    values: dict[str, object] = {
        "attempt_id": attempt_id,
        "qualification": qualification(),
        "transcript": TRANSCRIPT,
        "actions": ActionsTaken(booked_slot=SLOT),
        "latency": latency(),
        "ended_at": ENDED,
    }
    values.update(overrides)
    async with db.transaction() as session:
        return await records.store_call(session=session, **values)  # type: ignore[arg-type]


async def events(db: Database) -> list[CallEvent]:
    async with db.reader() as session:
        return list((await session.execute(select(CallEvent))).scalars())


async def test_a_stored_call_reads_back_whole_with_one_pending_event(db: Database) -> None:
    attempt = await answered(db)

    stored = await store(db, attempt.id)

    async with db.reader() as session:
        record = await records.get_record(session=session, record_id=stored.id)
    assert record is not None
    assert (record.attempt_id, record.lead_id, record.location_id) == (
        attempt.id,
        attempt.lead_id,
        attempt.location_id,
    )
    assert record.started_at is not None and record.started_at <= ENDED
    assert record.ended_at == ENDED and record.outcome == "booked"
    assert record.lines() == TRANSCRIPT
    assert record.qualified() == qualification()
    assert record.booked_slot_at == SLOT and record.callback_at is None
    assert (record.transfer_reason, record.transfer_status) == (None, None)
    assert record.latency == [t.as_ms() for t in latency()]
    assert record.latency[0]["transcript_ready_ms"] == 400
    (event,) = await events(db)
    assert event.kind is records.CallEventKind.CALL_CONCLUDED
    assert (event.attempt_id, event.record_id, event.processed_at) == (attempt.id, record.id, None)


async def test_storing_a_call_twice_keeps_the_first_and_writes_one_event(db: Database) -> None:
    attempt = await answered(db)
    first = await store(db, attempt.id)

    again = await store(
        db,
        attempt.id,
        qualification=Qualification(outcome=Outcome.NOT_INTERESTED),
        transcript=[("agent", "Goodbye.")],
        ended_at=ENDED + timedelta(minutes=5),
    )

    assert again.id == first.id
    assert (again.outcome, again.ended_at, again.lines()) == ("booked", ENDED, TRANSCRIPT)
    assert len(await events(db)) == 1
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(CallRecord)) == 1


async def test_a_transfer_opens_the_record_and_the_store_completes_it(db: Database) -> None:
    attempt = await answered(db)
    async with db.transaction() as session:
        opened = await records.record_transfer(
            session=session,
            attempt_id=attempt.id,
            reason=TransferReason.EMERGENCY,
            summary=SUMMARY,
            at=MORNING,
        )
    assert opened.ended_at is None
    assert await records.TransferWhispers(db)(attempt.id) == SUMMARY
    assert await events(db) == []  # a live call is not concluded

    stored = await store(
        db,
        attempt.id,
        actions=ActionsTaken(
            transfer_reason=TransferReason.EMERGENCY,
            transfer_status=TransferStatus.TRANSFERRED,
        ),
    )

    assert stored.id == opened.id and stored.ended_at == ENDED
    assert stored.transfer_reason is TransferReason.EMERGENCY
    assert stored.transfer_status is TransferStatus.TRANSFERRED
    assert stored.transfer_summary == SUMMARY
    assert len(await events(db)) == 1


async def test_no_summary_for_an_attempt_without_a_transfer(db: Database) -> None:
    attempt = await answered(db)
    await store(db, attempt.id)

    whispers = records.TransferWhispers(db)
    assert await whispers(attempt.id) is None
    assert await whispers(uuid.uuid4()) is None


async def test_an_unknown_attempt_is_refused(db: Database) -> None:
    with pytest.raises(UnknownAttempt):
        await store(db, uuid.uuid4())


async def test_the_outbox_hands_out_pending_events_oldest_first(db: Database) -> None:
    first = await answered(db, 0)
    second = await answered(db, 1)
    await store(db, first.id)
    await store(db, second.id, ended_at=ENDED + timedelta(minutes=1))

    async with db.transaction() as session:
        pending = await records.pending_events(session=session, limit=10)
        assert [e.attempt_id for e in pending] == [first.id, second.id]
        assert [e.attempt_id for e in await records.pending_events(session=session, limit=1)] == [
            first.id
        ]
        assert await records.mark_processed(session=session, event_id=pending[0].id, at=ENDED)

    async with db.transaction() as session:
        (left,) = await records.pending_events(session=session, limit=10)
        assert left.attempt_id == second.id
        # Already processed, or no such event: nothing changes.
        assert not await records.mark_processed(session=session, event_id=pending[0].id, at=ENDED)
        assert not await records.mark_processed(session=session, event_id=uuid.uuid4(), at=ENDED)


async def test_phi_columns_are_ciphertext_in_the_database(db: Database) -> None:
    attempt = await answered(db)
    async with db.transaction() as session:
        await records.record_transfer(
            session=session,
            attempt_id=attempt.id,
            reason=TransferReason.REQUESTED,
            summary=SUMMARY,
            at=MORNING,
        )
    await store(db, attempt.id)

    async with db.reader() as session:
        row = (
            await session.execute(
                text("SELECT transcript, qualification, transfer_summary FROM call_record")
            )
        ).one()
    for column in row:
        stored = bytes(column)
        for needle in ("Testina", "Fakeperson", "implants", "555 0123", "extraction"):
            assert needle.encode() not in stored, needle
