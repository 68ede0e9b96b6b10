"""TwiML builders: document structure, and hostile values staying inert text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from dentalvoice.telephony import twiml

HOSTILE = '"/><Hangup/><Say>pwned</Say><x a="&amp;'


def _parse(document: str) -> ET.Element:
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(document.encode())
    assert root.tag == "Response"
    return root


def test_connect_stream_carries_url_and_parameters() -> None:
    root = _parse(
        twiml.connect_stream(
            ws_url="wss://agent.example.com/twilio/media/tok-1",
            parameters={"lead_id": "L-123", "note": HOSTILE},
        )
    )

    (connect,) = root
    assert connect.tag == "Connect"
    (stream,) = connect
    assert stream.tag == "Stream"
    assert stream.get("url") == "wss://agent.example.com/twilio/media/tok-1"
    assert [(p.tag, p.get("name"), p.get("value")) for p in stream] == [
        ("Parameter", "lead_id", "L-123"),
        ("Parameter", "note", HOSTILE),
    ]
    # Nothing after </Connect>: closing the socket must end the call, not run more TwiML.
    assert len(root) == 1


@pytest.mark.parametrize(
    "ws_url",
    [
        "https://agent.example.com/twilio/media",
        "wss://agent.example.com/twilio/media?token=abc",
        "/twilio/media",
    ],
)
def test_connect_stream_refuses_urls_twilio_cannot_use(ws_url: str) -> None:
    with pytest.raises(ValueError):
        twiml.connect_stream(ws_url=ws_url, parameters={})


def test_connect_stream_refuses_oversized_parameters() -> None:
    with pytest.raises(ValueError):
        twiml.connect_stream(ws_url="wss://a.example/m", parameters={"k": "v" * 499})
    twiml.connect_stream(ws_url="wss://a.example/m", parameters={"k": "v" * 498})


def test_dial_transfer_with_whisper() -> None:
    root = _parse(
        twiml.dial_transfer(
            number="+13055550123",
            caller_id="+13055550999",
            whisper_url="https://agent.example.com/twilio/whisper?lead=1&x=<y>",
            timeout_s=15,
        )
    )

    (dial,) = root
    assert dial.tag == "Dial"
    assert dial.get("callerId") == "+13055550999"
    assert dial.get("timeout") == "15"
    (number,) = dial
    assert number.tag == "Number"
    assert number.text == "+13055550123"
    assert number.get("url") == "https://agent.example.com/twilio/whisper?lead=1&x=<y>"
    assert number.get("method") == "POST"


def test_dial_transfer_without_caller_id_or_whisper() -> None:
    root = _parse(twiml.dial_transfer(number="+13055550123", caller_id=None))

    (dial,) = root
    assert "callerId" not in dial.attrib
    assert dial.get("timeout") == "20"
    (number,) = dial
    assert number.attrib == {}


def test_voicemail_says_then_hangs_up_with_escaped_text() -> None:
    root = _parse(twiml.voicemail(text=HOSTILE, voice="Polly.Joanna"))

    say, hangup = root
    assert (say.tag, say.text, say.get("voice")) == ("Say", HOSTILE, "Polly.Joanna")
    assert hangup.tag == "Hangup"
    assert len(say) == 0


def test_voicemail_without_voice_leaves_twilios_default() -> None:
    say, _ = _parse(twiml.voicemail(text="Hello"))

    assert say.attrib == {}


def test_hangup() -> None:
    root = _parse(twiml.hangup())

    assert [child.tag for child in root] == ["Hangup"]


def test_control_characters_are_refused() -> None:
    with pytest.raises(ValueError):
        twiml.voicemail(text="hello\x00world")
    with pytest.raises(ValueError):
        twiml.connect_stream(ws_url="wss://a.example/m", parameters={"k": "\x1b[31m"})
