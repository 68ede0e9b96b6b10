"""What a voice call's actions do, against a fake Twilio client, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast
from xml.etree import ElementTree

import pytest
from sqlalchemy import select, update

from dentalvoice.compliance.models import ComplianceDecision, DecisionPurpose
from dentalvoice.conversation.agent import BookSlot, ScheduleCallback, Transfer, TransferReason
from dentalvoice.conversation.qualification import Outcome as CallOutcome
from dentalvoice.conversation.qualification import Qualification
from dentalvoice.db import Database
from dentalvoice.dialer.models import CallAttempt, CallJob, JobStatus
from dentalvoice.locations.models import Location
from dentalvoice.telephony.client import TwilioClient
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.errors import TwilioError
from dentalvoice.telephony.urls import CallbackUrls
from dentalvoice.voice.actions import CallActions, whisper_text
from dentalvoice.voice.records import CallEvent, TransferStatus, TransferWhispers
from tests.compliance.test_flows import MORNING, NIGHT, Clock
from tests.dialer.test_progress import status
from tests.voice.test_records import SUMMARY, answered

PUBLIC = "https://agent.example.test"
DEFAULT_FROM = "+13055550100"
CLINIC_FROM = "+13055550111"
TRANSFER_TO = "+13055550199"


@dataclass
class FakeTwilio:
    """The two calls `CallControl` makes; an update can be held in flight or refused."""

    error: TwilioError | None = None
    hold: asyncio.Event | None = None
    updating: asyncio.Event = field(default_factory=asyncio.Event)
    updates: list[tuple[str, str]] = field(default_factory=list)
    hung_up: list[str] = field(default_factory=list)

    async def update_call(self, sid: str, *, twiml: str | None = None, **_: Any) -> None:
        self.updates.append((sid, twiml or ""))
        self.updating.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.error is not None:
            raise self.error

    async def hang_up(self, sid: str) -> None:
        self.hung_up.append(sid)


def sink(db: Database, attempt: CallAttempt, twilio: FakeTwilio | None) -> CallActions:
    return CallActions(
        db=db,
        attempt_id=attempt.id,
        call_sid=attempt.twilio_call_sid,
        control=CallControl(client=cast(TwilioClient, twilio)) if twilio is not None else None,
        urls=CallbackUrls.from_base(PUBLIC),
        default_from=DEFAULT_FROM,
        clock=Clock(MORNING),
    )


async def clinic(db: Database, attempt: CallAttempt, **values: str | None) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Location).where(Location.id == attempt.location_id).values(**values)
        )


async def reread(db: Database, attempt: CallAttempt) -> CallAttempt:
    async with db.reader() as session:
        return await session.get_one(CallAttempt, attempt.id)


async def jobs_of(db: Database, attempt: CallAttempt) -> list[CallJob]:
    async with db.reader() as session:
        rows = await session.execute(
            select(CallJob).where(CallJob.lead_id == attempt.lead_id).order_by(CallJob.created_at)
        )
        return list(rows.scalars())


def transfer() -> Transfer:
    return Transfer(reason=TransferReason.EMERGENCY, summary=SUMMARY)


async def test_a_transfer_dials_the_front_desk_and_keeps_the_summary_server_side(
    db: Database,
) -> None:
    attempt = await answered(db)
    await clinic(db, attempt, transfer_number=TRANSFER_TO, twilio_from_number=CLINIC_FROM)
    twilio = FakeTwilio()
    actions = sink(db, attempt, twilio)

    await actions(transfer())

    ((sid, document),) = twilio.updates
    assert sid == attempt.twilio_call_sid
    dial = ElementTree.fromstring(document).find("Dial")
    assert dial is not None and dial.get("callerId") == CLINIC_FROM
    number = dial.find("Number")
    assert number is not None and number.text == TRANSFER_TO
    assert number.get("url") == f"{PUBLIC}/twilio/whisper?attempt={attempt.id.hex}"
    assert number.get("method") == "POST"
    # The summary is PHI: it is not in what Twilio was sent, only in our database.
    assert "Testina" not in document and "pain" not in document
    assert await TransferWhispers(db)(attempt.id) == SUMMARY
    assert twilio.hung_up == []
    assert (await reread(db, attempt)).outcome == "transferred"

    # When the transferred call ends, its job is done as a transfer, never retried.
    await status(db, attempt, "completed", duration=60)
    (job,) = await jobs_of(db, attempt)
    assert (job.status, job.reason) == (JobStatus.DONE, "transferred")

    record = await actions.finished(
        qualification=Qualification(outcome=CallOutcome.EMERGENCY_TRANSFERRED),
        transcript=[("agent", "Connecting you now.")],
    )
    assert record.transfer_reason is TransferReason.EMERGENCY
    assert record.transfer_status is TransferStatus.TRANSFERRED
    assert record.outcome == "emergency_transferred"


async def test_a_clinic_without_its_own_number_transfers_from_the_default(db: Database) -> None:
    attempt = await answered(db)
    await clinic(db, attempt, transfer_number=TRANSFER_TO)
    twilio = FakeTwilio()

    await sink(db, attempt, twilio)(transfer())

    ((_, document),) = twilio.updates
    dial = ElementTree.fromstring(document).find("Dial")
    assert dial is not None and dial.get("callerId") == DEFAULT_FROM


async def test_without_a_transfer_number_the_call_ends_and_that_is_recorded(
    db: Database,
) -> None:
    attempt = await answered(db)
    twilio = FakeTwilio()
    actions = sink(db, attempt, twilio)

    await actions(transfer())

    assert twilio.updates == [] and twilio.hung_up == [attempt.twilio_call_sid]
    assert (await reread(db, attempt)).outcome is None
    assert await TransferWhispers(db)(attempt.id) is None
    record = await actions.finished(qualification=Qualification(), transcript=[])
    assert record.transfer_reason is TransferReason.EMERGENCY
    assert record.transfer_status is TransferStatus.NO_NUMBER
    assert record.transfer_summary is None
    assert (await reread(db, attempt)).outcome == "conversation"


@pytest.mark.parametrize(
    ("code", "expected", "hung_up"),
    [(21220, TransferStatus.CALL_ENDED, False), (13223, TransferStatus.FAILED, True)],
    ids=["call_already_ended", "refused"],
)
async def test_a_transfer_twilio_does_not_make_is_not_recorded_as_one(
    db: Database, code: int, expected: TransferStatus, hung_up: bool
) -> None:
    attempt = await answered(db)
    await clinic(db, attempt, transfer_number=TRANSFER_TO)
    twilio = FakeTwilio(error=TwilioError(outcome="rejected", code=code, status=400))
    actions = sink(db, attempt, twilio)

    await actions(transfer())

    assert len(twilio.updates) == 1
    assert twilio.hung_up == ([attempt.twilio_call_sid] if hung_up else [])
    assert actions.taken.transfer_status is expected
    assert (await reread(db, attempt)).outcome is None


async def test_without_twilio_a_transfer_is_only_recorded(db: Database) -> None:
    attempt = await answered(db)
    await clinic(db, attempt, transfer_number=TRANSFER_TO)
    actions = sink(db, attempt, None)

    await actions(transfer())

    assert actions.taken.transfer_status is TransferStatus.UNAVAILABLE
    assert (await reread(db, attempt)).outcome is None


async def test_the_transfer_is_recorded_even_when_its_redirect_ends_the_pipeline(
    db: Database,
) -> None:
    """The redirect stops the stream, which cancels the pipeline awaiting the action."""
    attempt = await answered(db)
    await clinic(db, attempt, transfer_number=TRANSFER_TO)
    twilio = FakeTwilio(hold=asyncio.Event())
    actions = sink(db, attempt, twilio)

    acting = asyncio.create_task(actions(transfer()))
    await twilio.updating.wait()
    acting.cancel()
    assert twilio.hold is not None
    twilio.hold.set()
    with pytest.raises(asyncio.CancelledError):
        await acting

    record = await actions.finished(qualification=Qualification(), transcript=[])
    assert record.transfer_status is TransferStatus.TRANSFERRED
    assert (await reread(db, attempt)).outcome == "transferred"


async def test_a_callback_schedules_a_new_job_through_the_gate(db: Database) -> None:
    attempt = await answered(db)
    at = MORNING + timedelta(hours=2)
    actions = sink(db, attempt, FakeTwilio())

    await actions(ScheduleCallback(at=at))

    calling, callback = await jobs_of(db, attempt)
    assert calling.status is JobStatus.CALLING  # the call under way settles its own job
    assert (callback.status, callback.due_at) == (JobStatus.PENDING, at)
    async with db.reader() as session:
        decision = await session.scalar(
            select(ComplianceDecision)
            .where(ComplianceDecision.lead_id == attempt.lead_id)
            .order_by(ComplianceDecision.decided_at.desc())
            .limit(1)
        )
    assert decision is not None
    assert (decision.purpose, decision.evaluated_at) == (DecisionPurpose.SCHEDULE, at)
    record = await actions.finished(
        qualification=Qualification(outcome=CallOutcome.CALLBACK_REQUESTED), transcript=[]
    )
    assert record.callback_at == at


async def test_a_callback_at_night_is_moved_to_the_next_lawful_moment(db: Database) -> None:
    attempt = await answered(db)

    await sink(db, attempt, FakeTwilio())(ScheduleCallback(at=NIGHT))

    _, callback = await jobs_of(db, attempt)
    assert callback.status is JobStatus.PENDING
    assert callback.due_at is not None and callback.due_at > NIGHT


async def test_a_booked_slot_is_recorded_for_the_crm_step(db: Database) -> None:
    attempt = await answered(db)
    slot = MORNING + timedelta(days=2)
    actions = sink(db, attempt, FakeTwilio())

    await actions(BookSlot(start=slot))

    assert len(await jobs_of(db, attempt)) == 1
    record = await actions.finished(
        qualification=Qualification(preferred_slot=slot, outcome=CallOutcome.BOOKED),
        transcript=[("agent", "You're booked.")],
    )
    assert record.booked_slot_at == slot and record.outcome == "booked"


async def test_finishing_twice_stores_the_call_once(db: Database) -> None:
    attempt = await answered(db)
    actions = sink(db, attempt, FakeTwilio())
    opted_out = Qualification(opted_out=True, outcome=CallOutcome.OPTED_OUT)

    first = await actions.finished(qualification=opted_out, transcript=[("caller", "Stop.")])
    again = await actions.finished(qualification=opted_out, transcript=[("caller", "Stop.")])

    assert again.id == first.id
    assert (await reread(db, attempt)).outcome == "opted_out"
    async with db.reader() as session:
        events = list((await session.execute(select(CallEvent))).scalars())
    assert [e.record_id for e in events] == [first.id]


def test_the_whisper_is_one_clean_line_and_never_empty() -> None:
    messy = Transfer(reason=TransferReason.REQUESTED, summary="Wants\x00 a\n  cleaning.\x1b")
    assert whisper_text(messy) == "Wants a cleaning."
    empty = Transfer(reason=TransferReason.EMERGENCY, summary="  ")
    assert "emergency" in whisper_text(empty)
