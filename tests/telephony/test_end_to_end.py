"""Webhook → gate → job → calls.create → callbacks → media stream, through real HTTP.

Our app runs under uvicorn, the Twilio emulator on its own port, and the official SDK talks to
it; nothing of ours is mocked. Waits are on emulator events, never on sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from dentalvoice.compliance import dnc
from dentalvoice.compliance.models import DncScope, DncSource
from dentalvoice.config import Settings
from dentalvoice.db import Database
from dentalvoice.dialer.models import AttemptStatus, JobStatus
from dentalvoice.emulators.twilio import Busy, Fails, NoAnswer, Voicemail
from dentalvoice.telephony.control import CallControl
from dentalvoice.telephony.media import LiveCall, MediaChannel, drain_until_stop
from dentalvoice.telephony.signature import sign
from tests import factories as f
from tests.telephony.stack import AUTH_TOKEN, FROM_NUMBER, PUBLIC, Stack, running_stack

TRANSFER_TO = "+13055550199"
# Generous: a loaded CI machine runs the app, the emulator and the database on two cores.
WAIT = 20.0


@pytest.fixture(params=["in_process", "redis"])
async def stack(
    request: pytest.FixtureRequest, settings: Settings, db: Database
) -> AsyncIterator[Stack]:
    """The stack on the embedded defaults, and with Redis for sessions, CPS and wake-ups."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with running_stack(settings, db, redis_url=redis_url) as running:
        yield running


async def test_a_lead_is_called_streamed_and_hung_up_when_a_person_answers(stack: Stack) -> None:
    answer = await stack.post_lead()
    assert "next_call_at" in answer

    (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
    call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT)

    (attempt,) = await stack.attempts()
    # What we asked Twilio for.
    assert call.to == f.PHONE_E164 and call.from_ == FROM_NUMBER
    assert call.param("Url") == f"{PUBLIC}/twilio/voice?attempt={attempt.id.hex}"
    assert call.param("StatusCallback") == f"{PUBLIC}/twilio/status?attempt={attempt.id.hex}"
    assert call.params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert (call.param("MachineDetection"), call.param("AsyncAmd")) == ("DetectMessageEnd", "true")
    assert call.param("AsyncAmdStatusCallback") == f"{PUBLIC}/twilio/amd?attempt={attempt.id.hex}"
    # Every callback was accepted.
    assert call.status_callbacks and all(r.ok for r in call.requests)
    # The stream opened with our parameters and was closed by us once AMD said "human".
    (stream,) = call.streams
    assert stream.custom_parameters["attempt"] == attempt.id.hex
    assert call.amd is not None and call.amd.answered_by == "human"
    assert call.status == "completed"
    # What we recorded.
    assert attempt.twilio_call_sid == call.sid
    assert (attempt.status, attempt.outcome) == (AttemptStatus.COMPLETED, "conversation")
    assert attempt.answered_by == "human" and attempt.stream_sid == stream.stream_sid
    assert attempt.stream_started_at is not None and attempt.stream_ended_at is not None
    (job,) = await stack.jobs()
    assert (job.status, job.reason, job.attempts_made) == (JobStatus.DONE, "conversation", 1)


@pytest.mark.parametrize(
    ("callee", "status", "attempt_status"),
    [
        (NoAnswer(), "no-answer", AttemptStatus.NO_ANSWER),
        (Busy(), "busy", AttemptStatus.BUSY),
        (Fails(), "failed", AttemptStatus.FAILED),
    ],
    ids=["no_answer", "busy", "fails"],
)
async def test_an_unanswered_call_is_retried_ten_minutes_later(
    stack: Stack, callee: object, status: str, attempt_status: AttemptStatus
) -> None:
    stack.emulator.set_callee(f.PHONE_E164, callee)  # type: ignore[arg-type]
    await stack.post_lead()
    (first,) = await stack.emulator.wait_calls(1, timeout=WAIT)
    first = await stack.emulator.wait_call_ended(first.sid, timeout=WAIT)
    assert first.status == status and first.streams == []

    (attempt,) = await stack.attempts()
    assert attempt.status is attempt_status
    (job,) = await stack.jobs()
    assert job.status is JobStatus.PENDING and job.due_at is not None
    assert attempt.ended_at is not None
    assert job.due_at == attempt.ended_at + timedelta(minutes=10)

    # Ten minutes later the worker calls again, by itself.
    stack.clock.advance(timedelta(minutes=10))
    await stack.telephony.wake.notify()
    calls = await stack.emulator.wait_calls(2, timeout=WAIT)
    assert [c.to for c in calls] == [f.PHONE_E164, f.PHONE_E164]
    await stack.emulator.wait_call_ended(calls[1].sid, timeout=WAIT)
    assert len(await stack.attempts()) == 2


async def test_a_machine_gets_a_short_voicemail_and_a_retry(stack: Stack) -> None:
    stack.emulator.set_callee(f.PHONE_E164, Voicemail())
    await stack.post_lead()
    (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
    call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT)

    assert call.amd is not None and call.amd.answered_by == "machine_end_beep"
    assert call.voicemail is not None
    message = " ".join(call.voicemail.texts)
    assert "Bright Test Dental" in message and "call us back" in message
    # Minimum necessary: nothing about the person or their teeth.
    for private in (f.FIRST_NAME, f.LAST_NAME, "implant", "pain"):
        assert private.lower() not in message.lower()
    (attempt,) = await stack.attempts()
    assert (attempt.status, attempt.answered_by) == (AttemptStatus.VOICEMAIL, "machine_end_beep")
    assert attempt.voicemail_left_at is not None
    (job,) = await stack.jobs()
    assert (job.status, job.reason) == (JobStatus.PENDING, "voicemail")


async def test_a_dnc_added_between_scheduling_and_dialing_stops_the_call(
    settings: Settings, db: Database
) -> None:
    async with running_stack(settings, db, dial=False) as stack:
        await stack.post_lead()
        (job,) = await stack.jobs()
        assert job.status is JobStatus.PENDING
        async with db.transaction() as session:
            await dnc.add(
                session=session,
                cipher=db.cipher,
                phone_e164=f.PHONE_E164,
                scope=DncScope.AGENCY,
                location_id=None,
                source=DncSource.OPERATOR,
            )
        assert stack.telephony.worker is not None
        assert await stack.telephony.worker.run_once() == 1

        assert stack.emulator.calls == {}
        (job,) = await stack.jobs()
        assert job.status is JobStatus.BLOCKED and "internal_dnc" in (job.reason or "")
        assert await stack.attempts() == []


async def test_an_invalid_number_blocks_the_job_without_a_call(
    settings: Settings, db: Database
) -> None:
    async with running_stack(settings, db, dial=False) as stack:
        stack.emulator.settings.invalid_numbers.add(f.PHONE_E164)
        await stack.post_lead()
        assert stack.telephony.worker is not None
        assert await stack.telephony.worker.run_once() == 1

        (job,) = await stack.jobs()
        assert (job.status, job.reason) == (JobStatus.BLOCKED, "invalid_number")
        assert stack.emulator.calls == {}
        (attempt,) = await stack.attempts()
        assert (attempt.outcome, attempt.error_code) == ("invalid_number", 21211)


async def test_a_stream_url_cannot_be_replayed(stack: Stack) -> None:
    await stack.post_lead()
    (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
    call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT)
    (stream,) = call.streams
    assert (stream.handshake_status, stream.closed_by) == (101, "app")
    assert stream.sent_events[:2] == ["connected", "start"]

    # The same URL with Twilio's own valid signature: the one-time token is spent.
    signature = sign(auth_token=AUTH_TOKEN, url=stream.url, params={})
    assert stream.delivered_url is not None
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(
            stream.delivered_url, additional_headers={"x-twilio-signature": signature}
        ):
            pass
    assert caught.value.response.status_code == 403


class TransferAtOnce:
    """A media handler standing in for the agent's `transfer` action."""

    def __init__(self) -> None:
        self.control: CallControl | None = None

    async def __call__(self, *, channel: MediaChannel, call: LiveCall) -> None:
        assert self.control is not None
        assert await self.control.transfer(
            call_sid=call.call_sid,
            number=TRANSFER_TO,
            caller_id=FROM_NUMBER,
            whisper_url=f"{PUBLIC}/twilio/whisper",
        )
        await drain_until_stop(channel)


async def test_a_transfer_redirects_the_live_call_to_a_dial(
    settings: Settings, db: Database
) -> None:
    handler = TransferAtOnce()
    async with running_stack(settings, db, media_handler=handler) as stack:
        assert stack.telephony.callbacks is not None
        handler.control = stack.telephony.callbacks.control
        await stack.post_lead()
        (call,) = await stack.emulator.wait_calls(1, timeout=WAIT)
        call = await stack.emulator.wait_call_ended(call.sid, timeout=WAIT)

        (dial,) = call.dials
        assert [n.number for n in dial.numbers] == [TRANSFER_TO]
        assert dial.caller_id == FROM_NUMBER
        assert dial.numbers[0].whisper_url == f"{PUBLIC}/twilio/whisper"
        (stream,) = call.streams
        assert stream.closed_by == "emulator" and stream.sent_events[-1] == "stop"
        (attempt,) = await stack.attempts()
        assert attempt.stream_ended_at is not None
