"""Inbound audio: each frame goes on as it is read, and Silero runs without a thread hop."""

from __future__ import annotations

from typing import Any

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from dentalvoice.voice.line_input import WARM_UP_WINDOWS, DirectInputTransport, InlineSileroVAD

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
