"""Per-turn latency of a call, as the pipeline sees it.

For each caller turn: when the caller's speech ended (VAD), when the turn was decided over (Smart
Turn), when the transcript was ready, when the agent's first sentence was ready, and when the
first audio of the reply left for Twilio. Stored with the call (milliseconds after the speech
ended), so a slow call can be explained afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection


@dataclass(slots=True)
class TurnLatency:
    """One caller turn's moments, in `time.monotonic()` seconds (None: did not happen)."""

    speech_ended: float | None = None
    turn_decided: float | None = None
    transcript_ready: float | None = None
    reply_ready: float | None = None
    first_audio_sent: float | None = None

    def as_ms(self) -> dict[str, int | None]:
        """Each later moment in whole milliseconds after the caller's speech ended."""
        start = self.speech_ended
        moments = {
            "turn_decided_ms": self.turn_decided,
            "transcript_ready_ms": self.transcript_ready,
            "reply_ready_ms": self.reply_ready,
            "first_audio_ms": self.first_audio_sent,
        }
        return {
            name: None if start is None or at is None else round((at - start) * 1000)
            for name, at in moments.items()
        }


class LatencyObserver(BaseObserver):
    """Watches one call's pipeline and records a `TurnLatency` per caller turn.

    A turn starts when Smart Turn decides the caller has finished (`UserStoppedSpeakingFrame`);
    its speech ended at the last Silero stop before that, less Silero's `stop_secs` of silence
    (so the figures compare with what the caller measures). The caller may already have
    started again when the turn is decided (a pause mid-answer): the stop still counts. The
    transcript may come before the decision (Whisper starts at the Silero stop). The reply is
    ready when the agent pushes its first sentence, and sent when the output transport starts
    writing the reply's audio.
    """

    def __init__(self, *, agent: object) -> None:
        """Create the observer.

        Args:
            agent: The processor whose `TTSSpeakFrame`s are the agent's replies.
        """
        super().__init__()
        self._agent = agent
        self._speech_ended: float | None = None
        self._transcript: float | None = None
        self.turns: list[TurnLatency] = []
        self._open: TurnLatency | None = None

    async def on_push_frame(self, data: FramePushed) -> None:
        """Note the moments of the current turn."""
        # A frame passed along by the next processor was seen already; a broadcast frame's
        # upstream twin is the same moment.
        if not data.first_push or data.direction is FrameDirection.UPSTREAM:
            return
        frame, now = data.frame, time.monotonic()
        if isinstance(frame, UserStartedSpeakingFrame):
            # The caller spoke again before the reply was heard: that turn got no answer.
            self._open = None
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            # Silero reports the stop after `stop_secs` of silence; the speech ended before.
            self._speech_ended = now - frame.stop_secs
        elif isinstance(frame, TranscriptionFrame):
            if self._open is not None and self._open.transcript_ready is None:
                self._open.transcript_ready = now
            elif self._transcript is None:
                self._transcript = now
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._open = TurnLatency(
                speech_ended=self._speech_ended,
                turn_decided=now,
                transcript_ready=self._transcript,
            )
            self.turns.append(self._open)
            self._speech_ended = self._transcript = None
        elif self._open is None:
            return
        elif isinstance(frame, TTSSpeakFrame) and data.source is self._agent:
            if self._open.reply_ready is None:
                self._open.reply_ready = now
        elif isinstance(frame, BotStartedSpeakingFrame) and self._open.reply_ready is not None:
            self._open.first_audio_sent = now
            self._open = None
