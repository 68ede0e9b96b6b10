"""The local speech services: what Piper's audio looks like on its way to the line, and how
Whisper is given the caller's speech."""

from __future__ import annotations

import numpy as np
import pytest
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.tests.utils import run_test

from dentalvoice.callers.audio import ulaw_to_whisper
from dentalvoice.callers.voice import CallerVoice
from dentalvoice.voice.services import LocalPiperTTS, LocalWhisperSTT, trim_leading_silence
from dentalvoice.voice.transcriber import ShortWindowTranscriber, Transcript
from dentalvoice.voice.utterance import UtteranceStartFrame, UtteranceTranscriptionFrame

RATE = 22_050


def pcm(*parts: np.ndarray) -> bytes:
    return np.concatenate(parts).astype(np.int16).tobytes()


def tone(seconds: float, *, dbfs: float) -> np.ndarray:
    t = np.arange(round(RATE * seconds)) / RATE
    return 32767 * 10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)


def lead_ms(audio: bytes, *, rate: int, dbfs: float = -60.0) -> float:
    """How long `audio` stays under `dbfs` (RMS over 1 ms windows) before its first sound."""
    samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32)
    window = rate // 1000
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    loud = np.sqrt((frames**2).mean(axis=1)) > 32768 * 10 ** (dbfs / 20)
    return float(np.argmax(loud))


def test_the_silence_before_the_first_sound_is_cut_to_one_window() -> None:
    audio = pcm(np.zeros(round(RATE * 0.03)), tone(0.1, dbfs=-20))

    trimmed = trim_leading_silence(audio, sample_rate=RATE)

    assert 4 <= lead_ms(trimmed, rate=RATE) <= 5
    assert audio.endswith(trimmed)


def test_sound_under_the_threshold_is_silence_but_a_quiet_onset_is_kept() -> None:
    hiss = tone(0.02, dbfs=-75)
    onset = tone(0.01, dbfs=-50)  # quiet, but above -60 dBFS: the word has begun

    audio = pcm(hiss, onset, tone(0.1, dbfs=-20))

    trimmed = trim_leading_silence(audio, sample_rate=RATE)

    # The onset and all after it are kept, with at most two 5 ms windows of the hiss ahead.
    kept = len(pcm(onset, tone(0.1, dbfs=-20)))
    assert audio.endswith(trimmed)
    assert kept <= len(trimmed) <= kept + 2 * 2 * round(RATE * 0.005)


def test_audio_without_sound_is_left_whole() -> None:
    silent = pcm(np.zeros(1001))
    assert trim_leading_silence(silent, sample_rate=RATE) == silent
    assert trim_leading_silence(b"", sample_rate=RATE) == b""


async def spoken_lead_ms(tts: LocalPiperTTS) -> float:
    down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame("Do you have dental insurance?")])
    frames = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    return lead_ms(b"".join(f.audio for f in frames), rate=frames[0].sample_rate)


async def test_piper_sentences_reach_the_line_without_dead_air_ahead() -> None:
    # Trimmed: 4-7 ms here (the resampler to the output rate smears the onset); untrimmed 28-61.
    assert await spoken_lead_ms(LocalPiperTTS()) <= 12


async def test_the_stock_benchmark_keeps_pipers_own_lead_in() -> None:
    assert await spoken_lead_ms(LocalPiperTTS(trim_lead=False)) >= 20


def piece(text: str) -> list[Frame]:
    """One stretch of the caller's speech between Silero's start and stop."""
    audio = ulaw_to_whisper(CallerVoice().synthesize(text))
    pcm = (audio * 32767).astype(np.int16).tobytes()
    return [
        VADUserStartedSpeakingFrame(),
        InputAudioRawFrame(audio=pcm, sample_rate=16_000, num_channels=1),
        VADUserStoppedSpeakingFrame(),
    ]


async def test_a_piece_is_transcribed_with_the_utterance_before_it_and_replaces_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primed: list[str] = []
    transcribe = ShortWindowTranscriber.transcribe

    def spy(self: ShortWindowTranscriber, audio: np.ndarray, *, context: str = "") -> Transcript:
        primed.append(context)
        return transcribe(self, audio, context=context)

    monkeypatch.setattr(ShortWindowTranscriber, "transcribe", spy)

    down, _ = await run_test(
        LocalWhisperSTT(),
        frames_to_send=[
            UtteranceStartFrame(context="What made you reach out?"),
            *piece("My dentures don't fit anymore."),
            *piece("I think I need a new set."),
            # A new utterance: the same words again, transcribed on their own.
            UtteranceStartFrame(context="Anything else?"),
            *piece("I think I need a new set."),
        ],
    )

    heard = [f for f in down if isinstance(f, UtteranceTranscriptionFrame)]
    assert [f.replaces_previous for f in heard] == [False, True, False]
    assert "denture" in heard[0].text.lower()
    assert "denture" in heard[1].text.lower() and "set" in heard[1].text.lower()
    assert "denture" not in heard[2].text.lower() and "set" in heard[2].text.lower()
    assert not any(isinstance(f, UtteranceStartFrame) for f in down)  # STT keeps them
    # Whisper is primed with the agent's words each utterance answers.
    assert primed == ["What made you reach out?", "What made you reach out?", "Anything else?"]
