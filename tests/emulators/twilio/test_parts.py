"""The emulator's pieces on their own: TwiML parsing, routing, callees, audio, spec, waiting."""

from __future__ import annotations

from pathlib import Path

import pytest

from dentalvoice.emulators.twilio import (
    CALLEE_FACTORIES,
    Busy,
    NoAnswer,
    PickUp,
    SilentHuman,
    SpecNotFoundError,
    Voicemail,
    WaitTimeout,
    beep,
    callee_from_name,
    create_emulator,
    load_spec,
    parse_route,
    silence,
    speech_like,
)
from dentalvoice.emulators.twilio.audio import ulaw_encode_sample
from dentalvoice.emulators.twilio.twiml import (
    Connect,
    Dial,
    Hangup,
    Pause,
    Say,
    TwimlError,
    Unsupported,
    parse_twiml,
)
from dentalvoice.emulators.twilio.webhooks import Router
from dentalvoice.telephony import twiml as our_twiml

from .harness import ACCOUNT_SID, AUTH_TOKEN


def test_parses_the_twiml_our_telephony_package_writes() -> None:
    stream = our_twiml.connect_stream(
        ws_url="wss://agent.example.test/twilio/media/tok", parameters={"lead_id": "L-9"}
    )
    transfer = our_twiml.dial_transfer(
        number="+13055550177",
        caller_id="+13055550100",
        whisper_url="https://agent.example.test/twilio/whisper",
    )

    (connect,) = parse_twiml(stream)
    (dial,) = parse_twiml(transfer)
    say, hangup = parse_twiml(our_twiml.voicemail(text="Call us back."))

    assert isinstance(connect, Connect) and connect.stream is not None
    assert connect.stream.url == "wss://agent.example.test/twilio/media/tok"
    assert connect.stream.parameters == {"lead_id": "L-9"}
    assert isinstance(dial, Dial)
    assert dial.caller_id == "+13055550100"
    assert dial.numbers[0].number == "+13055550177"
    assert dial.numbers[0].url == "https://agent.example.test/twilio/whisper"
    assert isinstance(say, Say) and say.text == "Call us back."
    assert isinstance(hangup, Hangup)


def test_parses_verbs_in_order_and_skips_unknown_ones() -> None:
    verbs = parse_twiml(
        "<Response><Pause length='3'/><Gather/><Dial>+13055550177</Dial></Response>"
    )

    assert isinstance(verbs[0], Pause) and verbs[0].length_s == 3
    assert isinstance(verbs[1], Unsupported) and verbs[1].name == "Gather"
    assert isinstance(verbs[2], Dial) and verbs[2].numbers[0].number == "+13055550177"


@pytest.mark.parametrize(
    "document",
    [
        "<Response><Say>open",
        "<Play>x</Play>",
        "<!DOCTYPE Response><Response/>",
        "<Response><Connect><Stream/></Connect></Response>",
        "<Response><Dial/></Response>",
        "<Response><Pause length='soon'/></Response>",
        f"<Response><Connect><Stream url='wss://a/b'><Parameter name='n' value='{'v' * 499}'/>"
        "</Stream></Connect></Response>",
    ],
)
def test_rejects_what_twilio_would_not_parse(document: str) -> None:
    with pytest.raises(TwimlError):
        parse_twiml(document)


def test_routes_public_urls_to_local_ones_and_streams_to_ws() -> None:
    router = Router(
        {"https://agent.example.test": "http://127.0.0.1:5000", "https://x.test/api": "http://h:1"}
    )

    assert router.local("https://agent.example.test/twilio/status?x=1") == (
        "http://127.0.0.1:5000/twilio/status?x=1"
    )
    assert router.local("wss://agent.example.test/twilio/media/t") == (
        "ws://127.0.0.1:5000/twilio/media/t"
    )
    assert router.local("https://x.test/api/v") == "http://h:1/v"
    assert router.local("https://agent.example.testing/x") == "https://agent.example.testing/x"
    assert router.local("https://elsewhere.test/x") == "https://elsewhere.test/x"
    with pytest.raises(ValueError):
        Router({"agent.example.test": "http://127.0.0.1:1"})


def test_callees_by_name() -> None:
    assert set(CALLEE_FACTORIES) == {"no_answer", "busy", "fails", "voicemail", "silent_human"}
    assert isinstance(callee_from_name("voicemail"), Voicemail)
    assert isinstance(callee_from_name("Silent-Human"), SilentHuman)
    assert callee_from_name("busy").pick_up(60).outcome == "busy"
    with pytest.raises(ValueError, match="silent_human"):
        callee_from_name("robot")
    assert Busy().pick_up(25).after_s == 0
    # Ringing stops at the create's Timeout: a slow answerer is a no-answer.
    assert SilentHuman(ring_s=30).pick_up(5) == PickUp(5, "no-answer")
    assert NoAnswer(ring_s=90).pick_up(25) == PickUp(25, "no-answer")
    assert NoAnswer(ring_s=0.5).pick_up(25) == PickUp(0.5, "no-answer")


def test_synthetic_audio_is_mu_law_and_not_silence() -> None:
    assert ulaw_encode_sample(0) == 0xFF
    assert ulaw_encode_sample(32767) == 0x80
    assert ulaw_encode_sample(-32768) == 0x00
    assert silence(0.02) == b"\xff" * 160
    assert len(beep(0.5)) == 4000
    greeting = speech_like(0.5)
    assert len(greeting) == 4000
    assert greeting.count(0xFF) < len(greeting) // 2
    assert speech_like(0.5) == greeting


def test_a_missing_spec_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SpecNotFoundError, match="spec_path"):
        create_emulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, spec_path=missing)
    with pytest.raises(SpecNotFoundError):
        load_spec(missing)


def test_the_spec_loads_once_and_knows_the_callback_events() -> None:
    spec = load_spec()
    assert load_spec() is spec
    assert spec.call_events == {"initiated", "ringing", "answered", "completed"}
    assert spec.load_s < 10


def test_create_emulator_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="account_sid"):
        create_emulator(account_sid="AC123", auth_token=AUTH_TOKEN)
    with pytest.raises(ValueError, match="cps"):
        create_emulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, cps=0)


async def test_waiting_times_out_with_a_clear_error() -> None:
    emulator = create_emulator(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    with pytest.raises(WaitTimeout, match="call CAx to finish"):
        await emulator.wait_call_ended("CAx", timeout=0.01)
    await emulator.aclose()


def test_parse_route_for_the_cli() -> None:
    assert parse_route("https://a.test=http://127.0.0.1:1, https://b.test=http://h:2") == {
        "https://a.test": "http://127.0.0.1:1",
        "https://b.test": "http://h:2",
    }
    assert parse_route("") == {}
    with pytest.raises(ValueError):
        parse_route("https://a.test")
