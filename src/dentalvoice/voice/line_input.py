"""The call's inbound audio without a task hop per 20 ms frame.

Pipecat's input transport puts each frame on a queue that a task of its own takes it from with
`wait_for`, which costs that task two event-loop iterations a frame; Silero runs each frame on a
thread of its own and the frame waits for the loop to pick the answer up. Neither costs much
CPU, but both make each call's audio wait for the loop once or twice per frame: with twenty
calls a loop iteration takes longer than a frame lasts and the input falls behind without end
(measured by `benchmarks/concurrency.py`: audio reached the VAD 6-11 s late while the process
used 70-80 % of a core). Here a frame goes straight on to the next processor, and Silero
runs inline, on the windows loud enough to be speech. Past the VAD only the audio near the
caller's speech goes on (`LineVADProcessor`), and none past the turn detector
(`LineTurnProcessor`): at 20 simultaneous calls that took the process from 95 % of a core to 80 %.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

import numpy as np
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADState
from pipecat.audio.volume import AudioVolumeTracker
from pipecat.frames.frames import Frame, InputAudioRawFrame, VADUserStartedSpeakingFrame
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.websocket.fastapi import FastAPIWebsocketInputTransport
from pipecat.turns.user_turn_processor import UserTurnProcessor

# Quiet 32 ms windows run through Silero before a loud one, as its recurrent state needs.
WARM_UP_WINDOWS: Final = 16

# BS.1770's absolute gate: a 400 ms block quieter than this has no loudness (Pipecat: volume 0).
ABSOLUTE_GATE_LUFS: Final = -70.0
# The K-weighting's largest power gain is its +4 dB high shelf (its high-pass has no
# resonance); +6 dB bounds it with room to spare.
K_WEIGHTING_MAX_POWER_GAIN: Final = 10 ** (6 / 10)
# A block whose plain mean square (full scale 1) is below this is under the gate for certain.
_GATED_MEAN_SQUARE: Final = 10 ** ((ABSOLUTE_GATE_LUFS + 0.691) / 10) / K_WEIGHTING_MAX_POWER_GAIN


class LineVolume(AudioVolumeTracker):
    """Pipecat's volume tracker, which knows a silent line's volume without measuring it.

    Pipecat measures the loudness of the last 400 ms for every 32 ms window (~55 µs each, a
    fifth of the process's CPU with 25 calls), and on a call the caller is mostly silent. A
    block whose plain energy is too low to reach BS.1770's absolute gate even after the
    K-weighting's greatest gain measures as no loudness at all, volume 0: that is answered
    from its energy (~5 µs), and everything else is measured as before, so the volume is
    always Pipecat's own.
    """

    @property
    def volume(self) -> float:
        """The volume of the last 400 ms, between 0 and 1, as Pipecat's tracker gives it."""
        if self._volume is None:
            samples = np.frombuffer(self._buffer, dtype=np.int16).astype(np.float32) / 32768.0
            if samples.size and float(np.dot(samples, samples)) / samples.size < _GATED_MEAN_SQUARE:
                self._volume = 0.0
        return super().volume


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
        self._volume_tracker = LineVolume()  # type: ignore[no-untyped-call]
        self._measured: tuple[bytes, float] | None = None
        self._skipped: deque[bytes] = deque(maxlen=WARM_UP_WINDOWS)

    @property
    def quiet(self) -> bool:
        """Whether Silero hears nothing at all (not even a start it has yet to confirm)."""
        return self._vad_state is VADState.QUIET

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """The VAD state after `buffer` (blocking, briefly: ~0.25 ms a window Silero scores)."""
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


class LineTurnProcessor(UserTurnProcessor):
    """Pipecat's user-turn processor, where the caller's audio ends.

    The processors after it (the agent, TTS, the output) have no use for the caller's audio,
    yet each would queue and pass on every 20 ms frame of it: four of the seven task hops a
    frame made, for nothing.
    """

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Push the frame on, unless it is the caller's audio going downstream."""
        if direction is FrameDirection.DOWNSTREAM and isinstance(frame, InputAudioRawFrame):
            return
        await super().push_frame(frame, direction)


class LineVADProcessor(VADProcessor):
    """Pipecat's VAD processor, passing on only the caller's audio that can still matter.

    After the VAD come STT and the turn detector. Between turns they only keep the last
    moments of audio (STT one second, Smart Turn `pre_speech_ms` plus the start delay) and
    trim the rest, and most of a call is such a stretch: the caller listening to the agent.
    Passing it on cost two more task hops per 20 ms frame for audio trimmed away unheard.

    So while Silero hears nothing, frames wait here, the last `preroll_s` of them; older ones
    are dropped. The moment Silero hears a possible start, the held frames go on first, then
    everything, so from there on STT and the turn detector see the frames they would have
    seen. (Smart Turn dates audio by when it arrives, so it takes the whole held second as
    lead-in where it would have taken the last 0.6 s: more quiet ahead of the speech, in a
    window it pads with silence to 8 s anyway.) After speech the audio flows for `hangover_s`
    more of quiet: that must outlast the turn detector's silence fallback, which counts the
    quiet frames it is given.
    """

    def __init__(
        self,
        *,
        vad_analyzer: InlineSileroVAD,
        preroll_s: float = 1.0,
        hangover_s: float,
        **kwargs: Any,
    ) -> None:
        """Create the processor.

        Args:
            vad_analyzer: The call's Silero analyzer.
            preroll_s: How much quiet audio before a start is passed on with it.
            hangover_s: How long after the last sound audio keeps flowing.
            **kwargs: As `VADProcessor`'s.
        """
        super().__init__(vad_analyzer=vad_analyzer, **kwargs)
        self._analyzer = vad_analyzer
        self._preroll_s = preroll_s
        self._hangover_s = hangover_s
        self._held: deque[InputAudioRawFrame] = deque()
        self._held_s = 0.0
        self._open = True  # until the first quiet stretch: the start of the call is heard
        self._quiet_s = 0.0  # audio time since Silero last heard anything

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        """Pass the frame on, or hold it while the line is quiet."""
        if direction is FrameDirection.DOWNSTREAM:
            if isinstance(frame, InputAudioRawFrame) and not self._open:
                self._hold(frame)
                return
            if isinstance(frame, VADUserStartedSpeakingFrame) and not self._open:
                await self._open_gate()  # a start confirmed within its first window
        await super().push_frame(frame, direction)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Run the VAD on the frame, then open or close the gate by what Silero heard."""
        await super().process_frame(frame, direction)
        if not isinstance(frame, InputAudioRawFrame):
            return
        if not self._analyzer.quiet:
            self._quiet_s = 0.0
            if not self._open:
                await self._open_gate()
            return
        self._quiet_s += _seconds(frame)
        if self._open and self._quiet_s > self._hangover_s:
            self._open = False

    def _hold(self, frame: InputAudioRawFrame) -> None:
        self._held.append(frame)
        self._held_s += _seconds(frame)
        while self._held and self._held_s - _seconds(self._held[0]) >= self._preroll_s:
            self._held_s -= _seconds(self._held.popleft())

    async def _open_gate(self) -> None:
        self._open = True
        held, self._held = self._held, deque()
        self._held_s = 0.0
        for frame in held:
            await super().push_frame(frame, FrameDirection.DOWNSTREAM)


def _seconds(frame: InputAudioRawFrame) -> float:
    return len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
