"""Inbound audio: each frame goes on as it is read, and Silero runs without a thread hop."""

from __future__ import annotations

from typing import Any

from pipecat.audio.vad.vad_analyzer import VADParams, VADState
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from dentalvoice.voice.line_input import DirectInputTransport, InlineSileroVAD

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


async def test_silero_runs_inline_without_its_thread() -> None:
    vad = InlineSileroVAD(params=VADParams())
    vad.set_sample_rate(RATE)  # what the pipeline's start does
    # Pipecat's analyzer would hand each frame to this one-thread pool: it can take no more.
    vad._executor.shutdown()

    states = [await vad.analyze_audio(audio(20).audio) for _ in range(50)]

    assert set(states) == {VADState.QUIET}
