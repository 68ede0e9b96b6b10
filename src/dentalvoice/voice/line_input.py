"""The call's inbound audio without a task hop per 20 ms frame.

Pipecat's input transport puts each frame on a queue that a task of its own takes it from with
`wait_for`, which costs that task two event-loop iterations a frame; Silero runs each frame on a
thread of its own and the frame waits for the loop to pick the answer up. Neither costs much
CPU, but both make each call's audio wait for the loop once or twice per frame: with twenty
calls a loop iteration takes longer than a frame lasts and the input falls behind without end
(measured by `benchmarks/concurrency.py`: audio reached the VAD 6-11 s late while the process
used 70-80 % of a core). Here a frame goes straight on to the next processor, and Silero
runs inline, on the windows loud enough to be speech.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.transports.websocket.fastapi import FastAPIWebsocketInputTransport

# Quiet 32 ms windows run through Silero before a loud one, as its recurrent state needs.
WARM_UP_WINDOWS: Final = 16


class DirectInputTransport(FastAPIWebsocketInputTransport):
    """The websocket input: each audio frame is pushed on as it is read."""

    async def push_audio_frame(self, frame: InputAudioRawFrame) -> None:
        """Push the frame downstream now (Pipecat's queue and task only when filtering)."""
        params = self._params
        if params.audio_in_filter is not None or not params.audio_in_passthrough:
            await super().push_audio_frame(frame)
        elif params.audio_in_enabled and not self._paused and frame.audio:
            await self.push_frame(frame)


class InlineSileroVAD(SileroVADAnalyzer):
    """Silero VAD run in the event loop, and only on windows loud enough to be speech.

    A window counts as speech when Silero is confident *and* the smoothed volume reaches
    `min_volume`. Below that volume Silero's answer cannot change the decision, and on a call
    the caller is quiet most of the time (while the agent speaks), so the model is not run:
    the volume is measured first (once, as Pipecat would) and a quiet window scores 0. Silero
    is recurrent, though: a window's score depends on the audio before it. So before a loud
    window the last `WARM_UP_WINDOWS` quiet ones are run through it, as they would have been,
    and speech onsets are scored by a model in the state continuous running leaves it in.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the analyzer (`SileroVADAnalyzer`'s arguments)."""
        super().__init__(**kwargs)
        self._measured: tuple[bytes, float] | None = None
        self._skipped: deque[bytes] = deque(maxlen=WARM_UP_WINDOWS)

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """The VAD state after `buffer` (blocking, briefly: ~0.1 ms a window)."""
        return self._run_analyzer(buffer)

    def voice_confidence(self, buffer: bytes) -> float:
        """Silero's confidence for a window loud enough to be speech; 0 for a quiet one."""
        volume = super()._get_smoothed_volume(buffer)
        self._measured = (buffer, volume)
        if volume < self._params.min_volume:
            self._skipped.append(buffer)
            return 0.0
        while self._skipped:
            super().voice_confidence(self._skipped.popleft())
        confidence: float = super().voice_confidence(buffer)
        return confidence

    def _get_smoothed_volume(self, audio: bytes) -> float:
        # Pipecat asks for the window's volume after its confidence: it was measured then.
        measured, self._measured = self._measured, None
        if measured is not None and measured[0] is audio:
            return measured[1]
        return super()._get_smoothed_volume(audio)
