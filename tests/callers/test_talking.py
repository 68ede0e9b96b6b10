"""The talking caller on a line: its logic with stand-in models, then a real call end to end."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from dentalvoice.callers import TalkingCaller, Transcriber
from dentalvoice.callers.audio import dbfs, ulaw_decode
from dentalvoice.conversation.evaluation.scenario import CallerSpec, Scenario, Topic
from dentalvoice.telephony import TwilioClient

from ..emulators.twilio.harness import TO, Harness, place_call, stream_twiml
from .agent import Line, ScriptedAgent
from .fakes import ScriptedEars, ToneVoice, lone_line
from .speech import agent_speech, similarity

# The servers are shared by the module (see conftest), so the tests run on its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _spec(**extra: object) -> CallerSpec:
    return CallerSpec.model_validate(
        {
            "facts": {"good_time": "Yes, I can talk.", "insurance": "Yes, Delta Dental."},
            "default": None,
            **extra,
        }
    )


async def test_answers_a_turn_and_times_the_agent_then_hangs_up_after_goodbye() -> None:
    ears = ScriptedEars(["Do you have dental insurance.", "Thanks. Goodbye!"])
    voice = ToneVoice()
    caller = TalkingCaller(
        _spec(), voice=voice, transcriber=ears, silence_gap_ms=200, hang_up_wait_s=0.05
    )
    lone = await lone_line()
    talking = asyncio.create_task(caller.converse(lone.line))
    await lone.line.listening.wait()
    # An agent turn that played in the past: its silence gap is already over.
    lone.play_turn(1.0, at=time.monotonic() - 3.0)
    await lone.caller_done.wait()
    answer_at = lone.play_turn(0.3, at=time.monotonic() + 0.05) - 0.3
    await talking
    assert lone.line.ended  # hung up by the caller after the goodbye

    first, goodbye = caller.turns
    assert voice.said == ["Yes, Delta Dental."]
    assert (first.topic, first.reply, first.hang_up, first.barge_in) == (
        Topic.INSURANCE,
        "Yes, Delta Dental.",
        False,
        False,
    )
    assert first.agent_text == "Do you have dental insurance."  # as heard; the "?" is inferred
    assert first.speech_start_at is not None and first.speech_end_at is not None
    assert first.speech_end_at - first.speech_start_at == pytest.approx(0.1, abs=0.03)
    assert first.first_agent_audio_at == answer_at
    assert first.voice_to_voice_ms == pytest.approx((answer_at - first.speech_end_at) * 1000)
    assert 0 < first.voice_to_voice_ms < 200
    assert first.reaction_ms is not None and first.reaction_ms > 0
    assert (goodbye.hang_up, goodbye.reply, goodbye.voice_to_voice_ms) == (True, None, None)
    assert [t.index for t in caller.agent_turns] == [0, 1]
    assert len(ears.audio[0]) == pytest.approx(8000, abs=200)
    assert [(line.speaker, line.text) for line in caller.transcript] == [
        ("agent", "Do you have dental insurance."),
        ("caller", "Yes, Delta Dental."),
        ("agent", "Thanks. Goodbye!"),
    ]
    # What the caller said went out on the line, between its recorded start and end.
    spoken = [at for at, frame in lone.sent if dbfs(ulaw_decode(frame)) > -30]
    assert first.speech_start_at - 0.03 <= spoken[0] <= spoken[-1] <= first.speech_end_at
    assert len(caller.recording.caller) == 1 and caller.recording.agent


async def test_stays_silent_when_the_scenario_says_nothing() -> None:
    ears = ScriptedEars(["Mm, I see."])
    caller = TalkingCaller(_spec(), voice=ToneVoice(), transcriber=ears, silence_gap_ms=200)
    lone = await lone_line()
    talking = asyncio.create_task(caller.converse(lone.line))
    await lone.line.listening.wait()
    lone.play_turn(0.5, at=time.monotonic() - 2.0)
    # The call ends (the agent hangs up) while the caller stays silent.
    await ears.asked.wait()
    await lone.close()
    await talking
    (turn,) = caller.turns
    assert (turn.reply, turn.topic, turn.speech_start_at, turn.voice_to_voice_ms) == (
        None,
        None,
        None,
        None,
    )
    assert not lone.caller_spoke.is_set()


async def test_hangs_up_at_the_call_length_limit() -> None:
    caller = TalkingCaller(_spec(), voice=ToneVoice(), transcriber=ScriptedEars([]), max_call_s=0.2)
    lone = await lone_line()
    await caller.converse(lone.line)
    assert lone.line.ended and caller.turns == []
    await lone.close()


async def test_barges_in_once_over_a_long_turn_after_the_opening() -> None:
    ears = ScriptedEars(["Is this a good time?", "We have a few", "Do you have insurance?"])
    voice = ToneVoice()
    caller = TalkingCaller(
        _spec(interrupt_after_ms=300, default="Sorry, one second."),
        voice=voice,
        transcriber=ears,
        silence_gap_ms=200,
    )
    lone = await lone_line()
    talking = asyncio.create_task(caller.converse(lone.line))
    await lone.line.listening.wait()
    # The opening is long, but the caller never cuts into the opening.
    lone.play_turn(1.0, at=time.monotonic() - 3.0)
    await lone.caller_done.wait()
    lone.expect_speech()
    long_start = time.monotonic() + 0.05
    long_end = lone.play_turn(1.0, at=long_start)
    await lone.caller_done.wait()
    lone.expect_speech()
    # Another long turn, after the first one's gap: answered at its end, no second barge-in.
    lone.play_turn(0.6, at=long_end + 0.3)
    await lone.caller_done.wait()
    await lone.close()
    await talking

    opening, barge, after = caller.turns
    assert not opening.barge_in and opening.topic is Topic.GOOD_TIME
    assert barge.barge_in and barge.reply == "Sorry, one second."
    assert barge.heard_until == pytest.approx(long_start + 0.3, abs=0.021)
    assert barge.speech_start_at is not None and barge.speech_start_at < long_end
    assert len(ears.audio[1]) < 0.5 * 8000  # only what was heard before cutting in
    assert not after.barge_in and after.reply == "Yes, Delta Dental."
    assert [t.index for t in caller.agent_turns] == [0, 1, 2]
    assert caller.agent_turns[1].end_at == pytest.approx(long_end)
    assert voice.said == ["Yes, I can talk.", "Sorry, one second.", "Yes, Delta Dental."]


async def test_agent_audio_that_starts_while_it_speaks_is_not_a_turn() -> None:
    # The agent answers a pause inside the caller's reply, holds, then answers it whole.
    ears = ScriptedEars(["Do you have dental insurance.", "Is this a good time."])
    caller = TalkingCaller(
        _spec(), voice=ToneVoice(seconds=1.0), transcriber=ears, silence_gap_ms=900
    )
    lone = await lone_line()
    talking = asyncio.create_task(caller.converse(lone.line))
    await lone.line.listening.wait()
    lone.play_turn(1.0, at=time.monotonic() - 3.0)
    await lone.caller_spoke.wait()
    speaking_at = time.monotonic()
    # Under the reply (1 s), then after it: close enough to make one turn if both counted.
    lone.play_turn(0.3, at=speaking_at + 0.2)
    answer_at = speaking_at + 1.3
    lone.play_turn(1.0, at=answer_at)
    await lone.caller_done.wait()
    lone.expect_speech()
    await lone.caller_done.wait()
    await lone.close()
    await talking

    assert [t.index for t in caller.agent_turns] == [0, 1]
    assert caller.agent_turns[1].start_at == pytest.approx(answer_at, abs=0.021)
    assert len(ears.audio[1]) < 1.2 * 8000  # the answer alone, nothing from under the reply
    assert [t.reply for t in caller.turns] == ["Yes, Delta Dental.", "Yes, I can talk."]


async def test_from_scenario_and_options() -> None:
    scenario = Scenario.model_validate({"name": "x", "caller": {"interrupt_after_ms": 2500}})
    caller = TalkingCaller.from_scenario(scenario, silence_gap_ms=700, transcriber=Transcriber())
    assert caller.interrupt_after_ms == 2500 and caller.silence_gap_ms == 700
    assert caller.spec is scenario.caller
    with pytest.raises(ValueError):
        TalkingCaller(scenario.caller, voice=ToneVoice(), voice_settings=ToneVoice().settings)
    with pytest.raises(ValueError):
        CallerSpec.model_validate({"interrupt_after_ms": -1})


# -- a real call: emulator, Media Stream, Whisper and Piper -----------------------------------

OPENING = "Hi, it's Ava. Is this a good time?"
INSURANCE = "Do you have dental insurance?"
LONG = (
    "Thank you. Next I would like to ask you a few questions about your teeth, and then "
    "we can find a good time for your visit."
)
GOODBYE = "Of course. Goodbye!"


async def test_a_call_with_the_agent_over_the_emulated_phone(
    harness: Harness, twilio: TwilioClient, tmp_path: Path
) -> None:
    spec = _spec(default="Sorry, one second please.", interrupt_after_ms=2000)
    caller = TalkingCaller(spec, silence_gap_ms=700, hang_up_wait_s=0.2)
    await caller.prepare()
    harness.receiver.twiml["/twilio/voice"] = stream_twiml()
    harness.emulator.set_callee(TO, caller)
    lines = [
        Line(OPENING, agent_speech(OPENING)),
        Line(INSURANCE, agent_speech(INSURANCE)),
        Line(LONG, agent_speech(LONG), interruptible=True),
        Line(GOODBYE, agent_speech(GOODBYE), await_reply=False),
    ]
    assert len(agent_speech(INSURANCE)) < 2.0 * 8000 < len(agent_speech(LONG)) - 3 * 8000

    sid = await place_call(twilio)
    agent = ScriptedAgent(await harness.receiver.next_socket(), lines)
    async with asyncio.timeout(40):
        await agent.run()
    call = await harness.emulator.wait_call_ended(sid)
    assert call.end_reason == "callee"  # the caller hung up after the goodbye

    # The agent got an answer after each question, and cut its long line when talked over.
    assert [r.after_line for r in agent.replies] == [0, 1, 2]
    assert agent.cleared == [2]
    assert call.streams[0].clears
    # The line carries μ-law unchanged: the answer the app got is the caller's fact, spoken.
    said = caller.voice.synthesize("Yes, Delta Dental.")
    assert agent.replies[1].audio in said and len(agent.replies[1].audio) > 0.8 * len(said)

    good_time, insurance, barge, goodbye = caller.turns
    assert similarity(good_time.agent_text, OPENING) > 0.7, good_time.agent_text
    assert (good_time.topic, good_time.reply) == (Topic.GOOD_TIME, "Yes, I can talk.")
    assert similarity(insurance.agent_text, INSURANCE) > 0.7, insurance.agent_text
    assert (insurance.topic, insurance.reply) == (Topic.INSURANCE, "Yes, Delta Dental.")
    assert barge.barge_in and barge.reply == "Sorry, one second please."
    long_turn = caller.agent_turns[barge.agent_turn]
    assert barge.speech_start_at is not None
    assert long_turn.start_at + 2.0 <= barge.heard_until < barge.speech_start_at < long_turn.end_at
    assert goodbye.hang_up and not goodbye.barge_in

    # The agent answered each reply once it had heard reply_gap_s (0.6 s) of quiet; the
    # caller's speech ends at its last frame above -50 dBFS, the agent's ear is at -40 dBFS.
    latencies = [t.voice_to_voice_ms for t in (good_time, insurance, barge)]
    assert all(ms is not None and 350 < ms < 1500 for ms in latencies), latencies
    assert goodbye.voice_to_voice_ms is None

    path = caller.write_stereo_wav(tmp_path / "call.wav")
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    origin = caller.recording.start_at
    assert origin is not None and good_time.speech_start_at is not None
    start = round((good_time.speech_start_at - origin) * 8000)
    assert np.abs(frames[start : start + 4000, 0]).max() > 3000  # caller, left
    assert np.abs(frames[:8000, 1]).max() > 3000  # the agent's opening, right
