"""The call's inbound audio without a task hop per 20 ms frame.

Pipecat's input transport puts each frame on a queue that a task of its own takes it from with
`wait_for`, which costs that task two event-loop iterations a frame; Silero runs each frame on a
thread of its own and the frame waits for the loop to pick the answer up. Neither costs much
CPU, but both make each call's audio wait for the loop once or twice per frame: with twenty
calls a loop iteration takes longer than a frame lasts and the input falls behind without end
(measured by `benchmarks/concurrency.py`: audio reached the VAD 6-11 s late while the process
used 70-80 % of a core). Here a frame goes straight on to the next processor, and Silero
(~0.1 ms a frame) runs inline.
"""

from __future__ import annotations

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.frames.frames import InputAudioRawFrame
from pipecat.transports.websocket.fastapi import FastAPIWebsocketInputTransport


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
    """Silero VAD run in the event loop: a 32 ms window costs ~0.1 ms, less than a hop."""

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """The VAD state after `buffer` (blocking, briefly)."""
        return self._run_analyzer(buffer)
