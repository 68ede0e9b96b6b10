"""The whisper a transfer plays to the front desk: signed requests only, summary from our DB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import update

from dentalvoice.config import Settings
from dentalvoice.conversation.agent import Transfer, TransferReason
from dentalvoice.conversation.qualification import Outcome, Qualification
from dentalvoice.db import Database
from dentalvoice.dialer.models import AttemptStatus, JobStatus
from dentalvoice.locations.models import Location
from dentalvoice.telephony.media import LiveCall, MediaChannel, drain_until_stop
from dentalvoice.telephony.signature import sign
from dentalvoice.voice import records
from dentalvoice.voice.actions import CallActions
from dentalvoice.voice.records import CallRecord, TransferStatus
from tests.compliance.test_flows import MORNING
from tests.telephony.stack import AUTH_TOKEN, FROM_NUMBER, PUBLIC, Stack, running_stack
from tests.voice.test_records import SUMMARY, answered

PATH = "/twilio/whisper"
TRANSFER_TO = "+13055550199"
FORM = {
    "CallSid": "CA" + "d" * 32,
    "ParentCallSid": "CA" + "e" * 32,
    "CallStatus": "in-progress",
    "Direction": "outbound-dial",
}
WAIT = 20.0


@pytest.fixture
async def stack(settings: Settings, db: Database) -> AsyncIterator[Stack]:
    async with running_stack(settings, db, dial=False) as running:
        yield running


async def post(stack: Stack, query: str, signature: str | None) -> httpx.Response:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    return await stack.http.post(f"{PATH}?{query}", data=FORM, headers=headers)


def signed(query: str, token: str = AUTH_TOKEN) -> str:
    return sign(auth_token=token, url=f"{PUBLIC}{PATH}?{query}", params=FORM)


async def transferred_attempt(db: Database) -> uuid.UUID:
    attempt = await answered(db)
    async with db.transaction() as session:
        await records.record_transfer(
            session=session,
            attempt_id=attempt.id,
            reason=TransferReason.EMERGENCY,
            summary=SUMMARY,
            at=MORNING,
        )
    return attempt.id


async def test_a_signed_request_gets_the_summary_to_say(stack: Stack, db: Database) -> None:
    query = f"attempt={(await transferred_attempt(db)).hex}"

    response = await post(stack, query, signed(query))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    document = ElementTree.fromstring(response.text)
    assert [(child.tag, child.text) for child in document] == [("Say", SUMMARY)]


async def test_an_unsigned_or_forged_request_is_refused(stack: Stack, db: Database) -> None:
    query = f"attempt={(await transferred_attempt(db)).hex}"

    for signature in (None, signed(query, token="not-the-token"), signed("attempt=other")):
        response = await post(stack, query, signature)
        assert response.status_code == 403
        assert response.json() == {"detail": "invalid Twilio signature"}
        assert "Testina" not in response.text


async def test_an_unknown_attempt_or_one_without_a_transfer_is_a_404(
    stack: Stack, db: Database
) -> None:
    untransferred = await answered(db)
    for attempt_id in (uuid.uuid4(), untransferred.id):
        query = f"attempt={attempt_id.hex}"
        response = await post(stack, query, signed(query))
        assert response.status_code == 404
        assert response.json() == {"detail": "attempt: unknown"}


async def test_a_request_without_an_attempt_is_a_400(stack: Stack) -> None:
    response = await post(stack, "attempt=nope", signed("attempt=nope"))
    assert response.status_code == 400


class TransferringAgent:
    """A media handler standing in for the pipeline: the agent transfers as soon as it can."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.stored: asyncio.Queue[CallRecord] = asyncio.Queue()

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        assert self.stack is not None
        actions = CallActions.for_call(
            db=self.stack.db,
            settings=self.stack.settings,
            call=call,
            control=self.stack.telephony.control,
            clock=self.stack.clock,
        )
        try:
            await actions(Transfer(reason=TransferReason.EMERGENCY, summary=SUMMARY))
            await drain_until_stop(channel)
        finally:
            record = await actions.finished(
                qualification=Qualification(outcome=Outcome.EMERGENCY_TRANSFERRED),
                transcript=[("agent", "I'm connecting you with our front desk now.")],
            )
            self.stored.put_nowait(record)


async def test_a_transfer_through_twilio_whispers_the_summary_to_the_front_desk(
    settings: Settings, db: Database
) -> None:
    handler = TransferringAgent()
    async with running_stack(settings, db, media_handler=handler) as stack:
        handler.stack = stack
        # The front desk takes a moment to answer, as a person would.
        stack.emulator.settings.dial_answer_s = 0.5
        async with db.transaction() as session:
            await session.execute(update(Location).values(transfer_number=TRANSFER_TO))

        await stack.post_lead()
        (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
        call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT)
        async with asyncio.timeout(WAIT):
            record = await handler.stored.get()

        (attempt,) = await stack.attempts()
        (dial,) = call.dials
        assert [n.number for n in dial.numbers] == [TRANSFER_TO]
        assert dial.caller_id == FROM_NUMBER
        assert dial.numbers[0].whisper_url == f"{PUBLIC}{PATH}?attempt={attempt.id.hex}"
        assert dial.whisper_twiml is not None
        whisper = ElementTree.fromstring(dial.whisper_twiml)
        assert [(child.tag, child.text) for child in whisper] == [("Say", SUMMARY)]
        # Twilio was sent ids and numbers only; every request it made was answered.
        assert all("Testina" not in str(u.params) for u in call.updates)
        assert call.requests and all(r.ok for r in call.requests)

        assert (attempt.status, attempt.outcome) == (AttemptStatus.COMPLETED, "transferred")
        (job,) = await stack.jobs()
        assert (job.status, job.reason) == (JobStatus.DONE, "transferred")
        assert record.attempt_id == attempt.id
        assert record.transfer_status is TransferStatus.TRANSFERRED
