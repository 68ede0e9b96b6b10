"""The caller's voice against the agent's, and the ears on it: the real local models."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dentalvoice.callers import CallerVoice, Transcriber, VoiceSettings

from .speech import agent_speech, pitch_hz, similarity, spectral_centroid_hz

SENTENCE = "I'd say it's about a six, especially when I chew on that side."


@pytest.fixture(scope="module")
def voice() -> CallerVoice:
    return CallerVoice(cache_size=4)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber()


def test_the_caller_sounds_higher_and_brighter_than_the_agent(voice: CallerVoice) -> None:
    caller = voice.synthesize(SENTENCE)
    agent = agent_speech(SENTENCE)
    caller_pitch, agent_pitch = pitch_hz(caller), pitch_hz(agent)
    assert caller_pitch > 1.1 * agent_pitch, (caller_pitch, agent_pitch)
    assert spectral_centroid_hz(caller) > 1.05 * spectral_centroid_hz(agent)
    # The slower synthesis gives back the time the pitch shift takes: about as long.
    assert 0.8 < len(caller) / len(agent) < 1.25


def test_the_ears_understand_the_caller_over_the_phone(
    voice: CallerVoice, transcriber: Transcriber
) -> None:
    heard = transcriber.transcribe(voice.synthesize(SENTENCE))
    assert similarity(heard, SENTENCE) > 0.8, heard


def test_the_ears_understand_the_agent_over_the_phone(transcriber: Transcriber) -> None:
    text = "Have you been to our office before?"
    heard = transcriber.transcribe(agent_speech(text))
    assert similarity(heard, text) > 0.8, heard
    assert transcriber.transcribe(b"") == ""


def test_repeated_lines_come_from_the_cache(voice: CallerVoice) -> None:
    first = voice.synthesize(SENTENCE)
    hits = voice.hits
    started = time.perf_counter()
    again = voice.synthesize(f"  {SENTENCE} ")
    assert again is first and voice.hits == hits + 1
    assert time.perf_counter() - started < 0.01
    assert voice.synthesize("   ") == b""


def test_the_cache_forgets_the_least_recently_used() -> None:
    calls: list[str] = []

    class Counting(CallerVoice):
        def _render(self, text: str) -> bytes:
            calls.append(text)
            return text.encode()

    voice = Counting(voice=object(), cache_size=2)
    for text in ["a", "b", "a", "c", "a", "b"]:
        voice.synthesize(text)
    # "b" was dropped when "c" came in ("a" had been used since); "a" never was.
    assert calls == ["a", "b", "c", "b"]


async def test_speak_runs_off_the_event_loop() -> None:
    threads: list[threading.Thread] = []

    class Recording(CallerVoice):
        def _render(self, text: str) -> bytes:
            threads.append(threading.current_thread())
            return b"\x00" * 160

    assert await Recording(voice=object()).speak("hello") == b"\x00" * 160
    assert threads and threads[0] is not threading.main_thread()

    class Ears(Transcriber):
        def transcribe(self, ulaw: bytes) -> str:
            threads.append(threading.current_thread())
            return "ok"

    assert await Ears(model=object()).transcribe_async(b"\xff") == "ok"
    assert threads[1] is not threading.main_thread()
    assert asyncio.get_running_loop().is_running()


def test_voice_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        VoiceSettings(pitch_factor=0)
    with pytest.raises(ValueError):
        VoiceSettings(volume=1.5)
