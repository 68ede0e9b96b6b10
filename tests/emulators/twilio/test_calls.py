"""Calls driven like Twilio: callbacks, callees, TwiML verbs, AMD, updates and CPS."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dentalvoice.emulators.twilio import (
    Busy,
    Callee,
    Fails,
    NoAnswer,
    SilentHuman,
    TwilioEmulator,
)
from dentalvoice.telephony import TwilioClient, TwilioError

from .harness import (
    ACCOUNT_SID,
    AMD_URL,
    AUTH_TOKEN,
    FROM,
    PUBLIC,
    STATUS_URL,
    TO,
    VOICE_URL,
    Receiver,
    place_call,
)

# The servers are shared by the module (see conftest), so the tests run on its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SAY_AND_HANG_UP = (
    "<Response><Say>Hello from the clinic.</Say><Pause length='1'/><Hangup/></Response>"
)


async def test_an_answered_call_sends_signed_callbacks_in_sequence(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = SAY_AND_HANG_UP

    sid = await place_call(twilio)
    call = await emulator.wait_call_ended(sid)

    assert call.statuses == ["queued", "initiated", "ringing", "in-progress", "completed"]
    assert call.end_reason == "hangup-verb"
    statuses = receiver.of("/twilio/status")
    assert [h.params["CallStatus"] for h in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [h.params["SequenceNumber"] for h in statuses] == ["0", "1", "2", "3"]
    assert all(h.signature_valid for h in receiver.hits)
    first = statuses[0].params
    assert first["CallSid"] == sid
    assert first["AccountSid"] == ACCOUNT_SID
    assert (first["From"], first["To"], first["Caller"], first["Called"]) == (FROM, TO, FROM, TO)
    assert first["Direction"] == "outbound-api"
    assert first["ApiVersion"] == "2010-04-01"
    assert first["CallbackSource"] == "call-progress-events"
    assert first["Timestamp"].endswith("+0000")
    completed = statuses[-1].params
    assert completed["CallDuration"] == "0"
    assert completed["Duration"] == "0"
    assert completed["AnsweredBy"] == "human"
    headers = statuses[0].headers
    assert headers["user-agent"] == "TwilioProxy/1.1"
    assert len(headers["i-twilio-idempotency-token"]) == 32

    (voice,) = receiver.of("/twilio/voice")
    assert voice.params["CallStatus"] == "in-progress"
    (amd,) = receiver.of("/twilio/amd")
    assert amd.params["AnsweredBy"] == "human"
    assert set(amd.params) == {"CallSid", "AccountSid", "AnsweredBy", "MachineDetectionDuration"}
    assert call.said == ["Hello from the clinic."]
    assert [v.name for v in call.verbs] == ["Say", "Pause", "Hangup"]
    assert all(r.ok and r.delivered_url.startswith(receiver.base_url) for r in call.requests)
    assert all(r.url.startswith(PUBLIC) for r in call.requests)


@pytest.mark.parametrize(
    ("callee", "final", "statuses"),
    [
        (NoAnswer(ring_s=0.02), "no-answer", ["queued", "initiated", "ringing", "no-answer"]),
        (Busy(), "busy", ["queued", "initiated", "busy"]),
        (Fails(), "failed", ["queued", "initiated", "failed"]),
    ],
)
async def test_unanswered_calls_end_with_twilio_statuses(
    emulator: TwilioEmulator,
    twilio: TwilioClient,
    receiver: Receiver,
    callee: Callee,
    final: str,
    statuses: list[str],
) -> None:
    emulator.set_callee(TO, callee)
    sid = await place_call(twilio)

    call = await emulator.wait_call_ended(sid)

    assert call.statuses == statuses
    assert call.status == final
    completed = receiver.of("/twilio/status")[-1].params
    assert completed["CallStatus"] == final
    assert completed["CallDuration"] == "0"
    assert receiver.of("/twilio/voice") == []
    assert call.amd is None


async def test_inline_twiml_dial_records_the_transfer(
    emulator: TwilioEmulator, twilio_url: str, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/whisper"] = "<Response><Say>Emergency caller</Say></Response>"
    twiml = (
        "<Response><Say>Connecting you now.</Say>"
        '<Dial callerId="+13055550100" timeout="15">'
        f'<Number url="{PUBLIC}/twilio/whisper">+13055550177</Number></Dial></Response>'
    )
    async with httpx.AsyncClient(base_url=twilio_url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        response = await http.post(
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
            data={"To": TO, "From": FROM, "Twiml": twiml},
        )
    assert response.status_code == 201
    call = await emulator.wait_call_ended(response.json()["sid"])

    (dial,) = call.dials
    assert [n.number for n in dial.numbers] == ["+13055550177"]
    assert dial.caller_id == "+13055550100"
    assert dial.numbers[0].whisper_url == f"{PUBLIC}/twilio/whisper"
    assert dial.status == "completed"
    assert dial.whisper_twiml is not None and "Emergency caller" in dial.whisper_twiml
    (whisper,) = receiver.of("/twilio/whisper")
    assert whisper.signature_valid
    assert whisper.params["ParentCallSid"] == call.sid
    assert whisper.params["CallSid"] == dial.child_sid
    assert call.statuses[-1] == "completed"
    assert call.end_reason == "program"


async def test_cps_queues_creates_above_the_rate_and_counts_them(
    emulator: TwilioEmulator, twilio: TwilioClient
) -> None:
    emulator.settings.cps = 10.0
    emulator.set_default_callee(Busy())

    sids = await asyncio.gather(*(place_call(twilio, key=f"k{n}") for n in range(3)))
    calls = sorted(
        [await emulator.wait_call_ended(sid) for sid in sids], key=lambda c: c.arrived_at
    )

    assert emulator.early_creates == 2
    assert [c.early for c in calls] == [False, True, True]
    assert calls[0].queue_time_ms < 20
    assert 50 < calls[1].queue_time_ms < calls[2].queue_time_ms
    starts = [c.start_at for c in calls]
    assert starts[1] - starts[0] == pytest.approx(0.1)
    assert starts[2] - starts[1] == pytest.approx(0.1)
    for call in calls:
        initiated = next(h.at for h in call.history if h.status == "initiated")
        assert initiated >= call.start_at
    assert len(emulator.create_arrivals) == 3


async def test_cancel_a_ringing_call_and_ignore_cancel_in_progress(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    emulator.set_callee(TO, NoAnswer(ring_s=10.0))
    sid = await place_call(twilio)
    await emulator.wait_status(sid, "ringing")

    await twilio.update_call(sid, status="canceled")
    call = await emulator.wait_call_ended(sid)

    assert call.status == "canceled"
    assert receiver.of("/twilio/status")[-1].params["CallStatus"] == "canceled"
    assert call.updates[-1].outcome == "canceled"

    receiver.twiml["/twilio/voice"] = "<Response><Pause length='500'/></Response>"
    emulator.set_callee(TO, SilentHuman())
    live = await place_call(twilio, key="k2")
    await emulator.wait_status(live, "in-progress")
    await twilio.update_call(live, status="canceled")
    assert emulator.calls[live].status == "in-progress"
    assert emulator.calls[live].updates[-1].outcome == "unchanged"
    await twilio.hang_up(live)
    ended = await emulator.wait_call_ended(live)
    assert ended.end_reason == "api"
    # Ending an ended call answers 200 with the call unchanged; redirecting it is an error.
    await twilio.update_call(live, status="completed")
    assert ended.updates[-1].outcome == "unchanged"
    with pytest.raises(TwilioError) as caught:
        await twilio.update_call(live, twiml="<Response><Hangup/></Response>")
    assert caught.value.code == 21220


async def test_twiml_failures_end_the_call_with_twilio_error_codes(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = "<Response><Say>unclosed</Response>"
    bad_xml = await emulator.wait_call_ended(await place_call(twilio, key="a"))
    assert [e.code for e in bad_xml.errors] == [12100]
    assert bad_xml.status == "completed"

    sid = await twilio.create_call(
        to=TO,
        from_=FROM,
        url=f"{PUBLIC}/twilio/broken",
        status_callback=STATUS_URL,
        amd_callback=AMD_URL,
        idempotency_key="b",
    )
    broken = await emulator.wait_call_ended(sid)
    assert [e.code for e in broken.errors] == [11200]

    receiver.twiml["/twilio/voice"] = (
        '<Response><Connect><Stream url="https://agent.example.test/twilio/media/x"/>'
        "</Connect></Response>"
    )
    not_wss = await emulator.wait_call_ended(await place_call(twilio, key="c"))
    assert [e.code for e in not_wss.errors] == [31922]


async def test_redirect_with_url_runs_the_new_twiml(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = "<Response><Pause length='500'/></Response>"
    receiver.twiml["/twilio/next"] = "<Response><Say>Redirected.</Say></Response>"
    sid = await place_call(twilio)
    await emulator.wait_event("verb.started", call_sid=sid)

    await twilio.update_call(sid, url=f"{PUBLIC}/twilio/next")
    call = await emulator.wait_call_ended(sid)

    assert call.verbs[0].name == "Pause" and call.verbs[0].interrupted
    assert call.said == ["Redirected."]
    assert [d.source for d in call.twiml] == ["twiml", "twiml"]
    assert receiver.of("/twilio/next")[0].signature_valid
    assert call.updates[0].outcome == "redirected"


async def test_synchronous_amd_holds_the_twiml_until_the_verdict(
    emulator: TwilioEmulator, twilio_url: str, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = "<Response><Hangup/></Response>"
    async with httpx.AsyncClient(base_url=twilio_url, auth=(ACCOUNT_SID, AUTH_TOKEN)) as http:
        response = await http.post(
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
            data={"To": TO, "From": FROM, "Url": VOICE_URL, "MachineDetection": "Enable"},
        )
    call = await emulator.wait_call_ended(response.json()["sid"])

    (voice,) = receiver.of("/twilio/voice")
    assert voice.params["AnsweredBy"] == "human"
    assert call.amd is not None and call.amd.answered_by == "human"
    assert receiver.of("/twilio/amd") == []


async def test_a_refused_create_still_counts_against_cps(
    emulator: TwilioEmulator, twilio: TwilioClient
) -> None:
    emulator.settings.cps = 1.0
    emulator.settings.invalid_numbers.add(TO)
    with pytest.raises(TwilioError):
        await place_call(twilio)
    with pytest.raises(TwilioError):
        await place_call(twilio, key="again")

    assert len(emulator.create_arrivals) == 2
    assert emulator.early_creates == 1
    assert emulator.calls == {}
