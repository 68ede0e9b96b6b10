"""Media Streams: the message sequence and formats, marks, clear, stop, voicemail, callees."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import pytest

from dentalvoice.emulators.twilio import (
    CallerLine,
    HeardFrame,
    SilentHuman,
    TwilioEmulator,
    Voicemail,
    tone,
)
from dentalvoice.telephony import TwilioClient

from .harness import ACCOUNT_SID, PUBLIC, TO, AppSocket, Receiver, place_call, stream_twiml

# The servers are shared by the module (see conftest), so the tests run on its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

SILENT_FRAME = b"\xff" * 160


@dataclass
class Listener:
    """An audio callee that keeps what it hears and says one tone first."""

    say: bytes = b""
    heard: list[HeardFrame] = field(default_factory=list)
    hang_up_after_bytes: int | None = None

    async def converse(self, line: CallerLine) -> None:
        frames = line.heard()
        if self.say:
            await line.say(self.say)
        async for frame in frames:
            self.heard.append(frame)
            enough = self.hang_up_after_bytes
            if enough is not None and self.heard_bytes >= enough:
                await line.hang_up()

    @property
    def heard_bytes(self) -> int:
        return sum(len(f.audio) for f in self.heard)


async def _start(app: AppSocket) -> tuple[str, dict[str, object]]:
    connected = await app.recv()
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = await app.recv()
    assert start is not None and start["event"] == "start"
    return str(start["streamSid"]), start


async def test_stream_speaks_the_twilio_protocol(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    listener = Listener()
    emulator.set_callee(TO, listener)
    receiver.twiml["/twilio/voice"] = stream_twiml("tok-a", lead_id="L-1", attempt="2")
    sid = await place_call(twilio)

    app = await receiver.next_socket()
    stream_sid, start = await _start(app)
    assert start["sequenceNumber"] == "1"
    assert start["start"] == {
        "accountSid": ACCOUNT_SID,
        "streamSid": stream_sid,
        "callSid": sid,
        "tracks": ["inbound"],
        "customParameters": {"lead_id": "L-1", "attempt": "2"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    assert stream_sid.startswith("MZ") and len(stream_sid) == 34
    frames = [await app.recv() for _ in range(5)]
    for n, frame in enumerate(frames):
        assert frame is not None and frame["event"] == "media"
        assert frame["sequenceNumber"] == str(n + 2)
        assert frame["streamSid"] == stream_sid
        media = frame["media"]
        assert media["track"] == "inbound"
        assert media["chunk"] == str(n + 1)
        assert isinstance(media["timestamp"], str)
        assert base64.b64decode(media["payload"]) == SILENT_FRAME
    stamps = [int(f["media"]["timestamp"]) for f in frames if f is not None]
    assert stamps == sorted(stamps)

    # 480 bytes (60 ms) of audio then a mark: the echo comes once it has played.
    sent_at = time.monotonic()
    await app.send_audio(stream_sid, tone(440, 0.06))
    await app.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "m1"}})
    echo, _ = await app.recv_until("mark")
    assert echo["mark"] == {"name": "m1"}
    assert echo["streamSid"] == stream_sid
    assert int(echo["sequenceNumber"]) > 6
    assert time.monotonic() - sent_at >= 0.055

    # A mark with nothing buffered is echoed at once.
    await app.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "m2"}})
    echo, _ = await app.recv_until("mark")
    assert echo["mark"]["name"] == "m2"

    # One second of audio, a mark, then clear: the mark comes back long before a second.
    sent_at = time.monotonic()
    await app.send_audio(stream_sid, tone(440, 1.0))
    await app.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "m3"}})
    await app.send({"event": "clear", "streamSid": stream_sid})
    echo, _ = await app.recv_until("mark")
    assert echo["mark"]["name"] == "m3"
    assert time.monotonic() - sent_at < 0.5

    # Messages Twilio does not accept are logged as warnings and ignored.
    await app.websocket.send_bytes(b"\x00\x01")
    await app.send({"event": "dtmf", "streamSid": stream_sid})
    await app.send({"event": "mark", "streamSid": "MZ" + "0" * 32, "mark": {"name": "x"}})
    await app.send({"event": "media", "streamSid": stream_sid, "media": {"payload": "*not b64*"}})
    await emulator.wait_for(lambda: len(emulator.calls[sid].streams[0].warnings) == 4)

    await app.close()
    call = await emulator.wait_call_ended(sid)

    (stream,) = call.streams
    assert stream.handshake_status == 101
    assert stream.closed_by == "app"
    assert stream.custom_parameters == {"lead_id": "L-1", "attempt": "2"}
    assert stream.sent_events == ["connected", "start", "mark", "mark", "mark"]
    assert [m.name for m in stream.marks_echoed] == ["m1", "m2", "m3"]
    assert [m.cleared for m in stream.marks_echoed] == [False, False, True]
    assert len(stream.clears) == 1 and stream.clears[0].dropped_bytes > 4000
    assert stream.bytes_received == 480 + 8000
    assert stream.bytes_played + stream.bytes_cleared == stream.bytes_received
    assert listener.heard_bytes == stream.bytes_played
    assert [w.code for w in stream.warnings] == [31950, 31924, 31951, 31951]
    assert stream.frames_sent >= 5
    assert receiver.ws_signatures == [True]
    # Nothing follows </Connect>: the call completes when the app closes the socket.
    assert call.status == "completed"
    assert call.end_reason == "program"
    assert receiver.of("/twilio/status")[-1].params["CallStatus"] == "completed"


async def test_update_with_twiml_stops_the_stream_then_runs_the_new_twiml(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = stream_twiml()
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    stream_sid, _ = await _start(app)

    await twilio.update_call(
        sid,
        twiml=(
            "<Response><Say>Transferring you now.</Say>"
            f'<Dial callerId="+13055550100"><Number url="{PUBLIC}/twilio/whisper">'
            "+13055550177</Number></Dial></Response>"
        ),
    )
    stop, _ = await app.recv_until("stop")
    assert stop["streamSid"] == stream_sid
    assert stop["stop"] == {"accountSid": ACCOUNT_SID, "callSid": sid}
    assert await app.drain() == []  # the emulator closed the socket after stop

    call = await emulator.wait_call_ended(sid)
    stream = call.streams[0]
    assert stream.closed_by == "emulator"
    assert stream.sent_events[-1] == "stop"
    assert call.verbs[0].name == "Connect" and call.verbs[0].interrupted
    assert call.said == ["Transferring you now."]
    assert call.dials[0].numbers[0].number == "+13055550177"
    assert call.dials[0].caller_id == "+13055550100"
    stop_at = next(e.at for e in emulator.events if e.kind == "stream.closed")
    say_at = next(e.at for e in emulator.events if e.kind == "verb.started" and e.at > stop_at)
    assert say_at >= stop_at
    assert [d.source for d in call.twiml] == ["twiml", "update"]


async def test_hang_up_mid_stream_sends_stop_and_completes(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = stream_twiml()
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    await _start(app)

    await twilio.hang_up(sid)
    stop, _ = await app.recv_until("stop")
    assert stop["event"] == "stop"

    call = await emulator.wait_call_ended(sid)
    assert call.end_reason == "api"
    assert call.streams[0].closed_by == "emulator"
    completed = receiver.of("/twilio/status")[-1].params
    assert completed["CallStatus"] == "completed"
    assert "CallDuration" in completed


async def test_the_callee_hanging_up_stops_the_stream(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    emulator.set_callee(TO, SilentHuman(max_s=0.1))
    receiver.twiml["/twilio/voice"] = stream_twiml()
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    await _start(app)

    stop, before = await app.recv_until("stop")
    assert all(m["event"] == "media" for m in before)
    assert all(base64.b64decode(m["media"]["payload"]) == SILENT_FRAME for m in before)

    call = await emulator.wait_call_ended(sid)
    assert call.end_reason == "callee"
    assert call.streams[0].closed_by == "emulator"
    assert call.status == "completed"


async def test_an_audio_callee_talks_hears_and_hangs_up(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    greeting = tone(300, 0.1)
    listener = Listener(say=greeting, hang_up_after_bytes=320)
    emulator.set_callee(TO, listener)
    receiver.twiml["/twilio/voice"] = stream_twiml()
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    stream_sid, _ = await _start(app)

    inbound = bytearray()
    while len(inbound) < len(greeting):
        message = await app.recv()
        assert message is not None and message["event"] == "media"
        inbound += base64.b64decode(message["media"]["payload"])
    # The callee's words arrive as 20 ms frames, after any silence before it spoke.
    assert greeting[:160] in bytes(inbound)

    await app.send_audio(stream_sid, tone(500, 0.04))
    await app.recv_until("stop")
    call = await emulator.wait_call_ended(sid)

    assert call.end_reason == "callee"
    assert listener.heard_bytes == 320
    assert [len(f.audio) for f in listener.heard] == [160, 160]
    # Frames are stamped with their playback time: 20 ms apart.
    assert listener.heard[1].at - listener.heard[0].at == pytest.approx(0.02)
    assert call.amd is not None and call.amd.answered_by == "human"


async def test_voicemail_greets_beeps_and_records_the_message(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    emulator.set_callee(TO, Voicemail(greeting_s=0.1, beep_s=0.05))
    receiver.twiml["/twilio/voice"] = stream_twiml()
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    stream_sid, _ = await _start(app)

    await emulator.wait_event("http.amd", call_sid=sid)
    (amd,) = receiver.of("/twilio/amd")
    assert amd.params["AnsweredBy"] == "machine_end_beep"
    assert amd.signature_valid
    assert int(amd.params["MachineDetectionDuration"]) >= 120  # greeting + beep

    await app.send_audio(stream_sid, tone(600, 0.04))
    await app.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "said"}})
    _, greeting = await app.recv_until("mark")
    await twilio.update_call(
        sid, twiml="<Response><Say>Please call the clinic back.</Say><Hangup/></Response>"
    )
    await app.recv_until("stop")
    call = await emulator.wait_call_ended(sid)

    heard_by_app = b"".join(
        base64.b64decode(m["media"]["payload"]) for m in greeting if m["event"] == "media"
    )
    assert heard_by_app.count(b"\xff") < len(heard_by_app)  # a greeting, not silence
    assert call.voicemail is not None
    assert call.voicemail.texts == ["Please call the clinic back."]
    assert len(call.voicemail.audio) == 320
    assert call.amd is not None and call.amd.answered_by == "machine_end_beep"
    assert receiver.of("/twilio/status")[-1].params["AnsweredBy"] == "machine_end_beep"
    assert call.end_reason == "hangup-verb"


async def test_a_refused_handshake_is_31920_and_the_call_completes(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = stream_twiml("reject")
    sid = await place_call(twilio)

    call = await emulator.wait_call_ended(sid)

    assert call.streams[0].handshake_status == 403
    assert [e.code for e in call.errors] == [31920]
    assert call.status == "completed"


async def test_connect_action_runs_after_the_app_closes_the_stream(
    emulator: TwilioEmulator, twilio: TwilioClient, receiver: Receiver
) -> None:
    receiver.twiml["/twilio/voice"] = (
        f'<Response><Connect action="{PUBLIC}/twilio/after-stream">'
        f'<Stream url="wss://agent.example.test/twilio/media/t"/></Connect>'
        "<Say>Never reached with an action.</Say></Response>"
    )
    receiver.twiml["/twilio/after-stream"] = (
        "<Response><Dial><Number>+13055550177</Number></Dial></Response>"
    )
    sid = await place_call(twilio)
    app = await receiver.next_socket()
    await _start(app)

    await app.close()
    call = await emulator.wait_call_ended(sid)

    (action,) = receiver.of("/twilio/after-stream")
    assert action.signature_valid
    assert action.params["CallSid"] == sid
    assert call.streams[0].closed_by == "app"
    assert [v.name for v in call.verbs] == ["Connect", "Dial"]
    assert call.dials[0].numbers[0].number == "+13055550177"
    assert call.said == []
