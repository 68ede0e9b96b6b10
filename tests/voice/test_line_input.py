"""Inbound audio: each frame goes on as it is read, Silero runs without a thread hop, and only
the audio that can matter goes past the VAD and none past the turn detector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pipecat.audio import volume as volume_module
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState
from pipecat.audio.volume import AudioVolumeTracker
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TextFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.task import PipelineParams
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.tests.utils import run_test
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import BaseUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from dentalvoice.voice.line_input import (
    WARM_UP_WINDOWS,
    DirectInputTransport,
    InlineSileroVAD,
    LineTurnProcessor,
    LineVADProcessor,
    LineVolume,
)

RATE = 16_000


class Pushed(DirectInputTransport):
    """The input with its downstream replaced by a list."""

    def __init__(self, **params: Any) -> None:
        super().__init__(None, object(), FastAPIWebsocketParams(**params), name="in")
        self.pushed: list[Frame] = []

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        self.pushed.append(frame)


def audio(ms: int) -> InputAudioRawFrame:
    return InputAudioRawFrame(bytes(2 * RATE * ms // 1000), sample_rate=RATE, num_channels=1)


async def test_an_audio_frame_is_pushed_on_before_push_audio_frame_returns() -> None:
    transport = Pushed(audio_in_enabled=True)
    frame = audio(20)

    await transport.push_audio_frame(frame)
    await transport.push_audio_frame(audio(0))  # nothing to hear: dropped, as Pipecat does

    # No queue and no task in between: nothing else had to run first.
    assert transport.pushed == [frame]


async def test_paused_or_disabled_input_pushes_nothing() -> None:
    disabled = Pushed(audio_in_enabled=False)
    await disabled.push_audio_frame(audio(20))
    paused = Pushed(audio_in_enabled=True)
    paused._paused = True
    await paused.push_audio_frame(audio(20))

    assert disabled.pushed == [] and paused.pushed == []


class Counted:
    """Silero's model, counting the windows it scores."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.model(*args)

    def reset_states(self) -> None:
        self.model.reset_states()


def vad() -> tuple[InlineSileroVAD, Counted]:
    analyzer = InlineSileroVAD(params=VADParams(min_volume=0.35))
    analyzer.set_sample_rate(RATE)  # what the pipeline's start does
    # Pipecat's analyzer would hand each frame to this one-thread pool: it can take no more.
    analyzer._executor.shutdown()
    counted = Counted(analyzer._model)
    analyzer._model = counted
    return analyzer, counted


def tone(ms: int, amplitude: float = 0.5) -> bytes:
    t = np.arange(RATE * ms // 1000) / RATE
    wave = amplitude * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (wave * 32767).astype(np.int16).tobytes()


async def test_silero_runs_inline_and_only_on_windows_loud_enough_to_be_speech() -> None:
    analyzer, model = vad()

    quiet = [await analyzer.analyze_audio(audio(20).audio) for _ in range(50)]
    assert set(quiet) == {VADState.QUIET} and model.calls == 0  # a second of silence

    loud = tone(1000)
    for start in range(0, len(loud), 640):
        await analyzer.analyze_audio(loud[start : start + 640])
    # Once the 0.4 s volume window is loud, every 32 ms window is scored (in this thread),
    # after the quiet windows just before it, once, to warm Silero's recurrent state.
    assert 15 <= model.calls - WARM_UP_WINDOWS <= 31


async def test_a_quiet_window_scores_as_pipecats_analyzer_decides_it() -> None:
    # Below min_volume no confidence makes a window speech, so the skipped model changes
    # nothing: the same audio gives the same states as with the model always run.
    ours, _ = vad()
    stock = SileroVADAnalyzer(params=VADParams(min_volume=0.35))
    stock.set_sample_rate(RATE)
    clip = bytes(2 * RATE // 2) + tone(600, 0.02) + bytes(2 * RATE // 2)
    frames = [clip[i : i + 640] for i in range(0, len(clip), 640)]

    assert [await ours.analyze_audio(f) for f in frames] == [stock._run_analyzer(f) for f in frames]


class ToneVAD(InlineSileroVAD):
    """The VAD with a stand-in for Silero that hears the test's tone as speech."""

    def voice_confidence(self, buffer: bytes) -> float:
        return 1.0 if np.abs(np.frombuffer(buffer, dtype=np.int16)).max() > 1000 else 0.0


def line(*parts: tuple[str, int]) -> list[InputAudioRawFrame]:
    """20 ms frames of quiet ("q") or tone ("t"), each part `ms` long."""
    clip = b"".join(tone(ms) if kind == "t" else bytes(2 * RATE * ms // 1000) for kind, ms in parts)
    return [
        InputAudioRawFrame(clip[i : i + 640], sample_rate=RATE, num_channels=1)
        for i in range(0, len(clip), 640)
    ]


async def downstream(processor: FrameProcessor, frames: list[InputAudioRawFrame]) -> list[object]:
    """What reached the end: each audio frame as its index in `frames`, VAD events by name."""
    down, _ = await run_test(
        processor,
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
    )
    vad_events = (VADUserStartedSpeakingFrame, VADUserStoppedSpeakingFrame)
    return [
        frames.index(f) if isinstance(f, InputAudioRawFrame) else type(f).__name__
        for f in down
        if isinstance(f, (InputAudioRawFrame, *vad_events))
    ]


STARTED, STOPPED = "VADUserStartedSpeakingFrame", "VADUserStoppedSpeakingFrame"


def vad_params() -> VADParams:
    return VADParams(start_secs=0.1, stop_secs=0.2, min_volume=0.35)


async def test_quiet_audio_far_from_speech_stops_at_the_vad() -> None:
    # 2 s of quiet, 0.6 s of "speech", 3 s of quiet.
    frames = line(("q", 2000), ("t", 600), ("q", 3000))
    gated = await downstream(
        LineVADProcessor(vad_analyzer=ToneVAD(params=vad_params()), preroll_s=0.2, hangover_s=0.5),
        frames,
    )
    stock = await downstream(VADProcessor(vad_analyzer=ToneVAD(params=vad_params())), frames)

    # What went on is what Pipecat's processor passes, in its order, less quiet audio only.
    assert [f for f in stock if f in gated or isinstance(f, str)] == gated
    assert STARTED in gated and STOPPED in gated
    passed = [f for f in gated if isinstance(f, int)]
    speech_start, speech_end = 100, 130  # frame indexes of the tone
    stopped_at = stock[stock.index(STOPPED) - 1]  # the frame after which Silero said it ended
    # The call's first moments (the gate opens only after a quiet stretch), ...
    assert passed[:25] == list(range(25))
    # ... then one unbroken stretch: the 0.2 s held before the frame Silero first heard (one
    # of the tone's first few), everything after it, and 0.5 s of quiet counted from the stop.
    later = passed[25:]
    assert later == list(range(later[0], later[-1] + 1))
    assert speech_start <= later[0] + 9 <= speech_start + 4
    assert later[-1] == stopped_at + 24
    assert speech_end < stopped_at < len(frames) - 30


async def test_a_start_silero_confirms_at_once_follows_the_audio_held_before_it() -> None:
    frames = line(("q", 1000), ("t", 300), ("q", 1000))
    params = VADParams(start_secs=0.0, stop_secs=0.2, min_volume=0.35)
    gated = await downstream(
        LineVADProcessor(vad_analyzer=ToneVAD(params=params), preroll_s=0.2, hangover_s=0.3),
        frames,
    )
    stock = await downstream(VADProcessor(vad_analyzer=ToneVAD(params=params)), frames)

    assert [f for f in stock if f in gated or isinstance(f, str)] == gated
    start = gated.index(STARTED)
    # The 0.2 s held before it, in order, right before it.
    assert gated[start - 10 : start] == list(range(gated[start - 1] - 9, gated[start - 1] + 1))


class Recorded(BaseUserTurnStopStrategy):
    """A stop strategy that only records what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        self.frames.append(frame)
        return ProcessFrameResult.CONTINUE


async def test_the_callers_audio_ends_at_the_turn_processor() -> None:
    strategy = Recorded()
    audio_frame, text = audio(20), TextFrame("hello")
    processor = LineTurnProcessor(user_turn_strategies=UserTurnStrategies(stop=[strategy]))

    down, _ = await run_test(processor, frames_to_send=[audio_frame, text])

    assert audio_frame in strategy.frames  # the turn detector hears it ...
    assert audio_frame not in down and text in down  # ... and nothing after it gets it


def volumes(tracker: AudioVolumeTracker, clip: np.ndarray) -> list[float]:
    """The tracker's volume after each 32 ms window of `clip` (int16 samples)."""
    out = []
    for start in range(0, len(clip) - 511, 512):
        tracker.update(clip[start : start + 512].tobytes(), RATE)
        out.append(tracker.volume)
    return out


@pytest.mark.parametrize("hz", [60, 1000, 4000, 7500])
def test_the_line_volume_is_pipecats_own_at_every_level(hz: int) -> None:
    # Each level for 0.6 s, from digital silence and a 1-LSB hiss up past the absolute gate,
    # where the shortcut must give way to the measurement (the shelf boosts 4 and 7.5 kHz).
    t = np.arange(int(RATE * 0.6)) / RATE
    levels = [0.0, 1.0, 3.0, 6.0, 10.0, 20.0, 60.0, 300.0, 3000.0]
    clip = np.concatenate([np.round(a * np.sin(2 * np.pi * hz * t)) for a in levels])
    clip = clip.astype(np.int16)

    ours, pipecats = volumes(LineVolume(), clip), volumes(AudioVolumeTracker(), clip)

    assert ours == pipecats
    assert 0.0 in ours and max(ours) > 0.5  # both sides of the gate were crossed


def test_a_silent_line_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[int] = []
    real = volume_module.calculate_audio_volume
    monkeypatch.setattr(
        volume_module,
        "calculate_audio_volume",
        lambda audio, rate: measured.append(len(audio)) or real(audio, rate),
    )
    rng = np.random.default_rng(7)
    hiss = rng.integers(-2, 3, size=RATE * 2).astype(np.int16)
    speech_level = (rng.standard_normal(RATE) * 3000).astype(np.int16)

    quiet = volumes(LineVolume(), np.concatenate([np.zeros(RATE, np.int16), hiss]))
    assert set(quiet) == {0.0} and measured == []
    loud = volumes(LineVolume(), speech_level)
    assert measured and loud[-1] > 0.5
