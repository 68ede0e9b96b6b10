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


def pushed_at(data: FramePushed) -> float:
    """When the frame was pushed, in `time.monotonic()` seconds.

    Pipecat hands each observer its pushes through a queue and a task of its own, so the
    observer runs some time after the push: 0.1-0.3 ms later on a quiet event loop, more on a
    busy one (the call's audio, VAD and Smart Turn share it). The push carries the pipeline clock's
    time; its age on that clock now dates the push. Pushes made by hand (tests) carry none
    and count as now.
    """
    now = time.monotonic()
    get_clock = getattr(data.source, "get_clock", None)
    if data.timestamp <= 0 or get_clock is None:
        return now
    try:
        clock_now: int = get_clock().get_time()
    except Exception:  # noqa: BLE001 - a processor not set up has no clock: count it as now
        return now
    return now - max(0, clock_now - data.timestamp) / 1e9


class LatencyObserver(BaseObserver):
    """Watches one call's pipeline and records a `TurnLatency` per caller turn.

    A turn starts when Smart Turn decides the caller has finished (`UserStoppedSpeakingFrame`);
    its speech ended at the last Silero stop before that, less Silero's `stop_secs` of silence
    (so the figures compare with what the caller measures). The caller may already have
    started again when the turn is decided (a pause mid-answer): the stop still counts. The
    transcript may come before the decision (Whisper starts at the Silero stop). The reply is
    ready when the agent pushes its first sentence, and sent when the output transport starts
    writing the reply's audio: its `BotStartedSpeakingFrame`, pushed as it takes the first
    chunk, 0.2-0.4 ms before the chunk's media message leaves on the websocket (measured with
    instant providers; the chunk it pushes on after the write comes 0.5-1.2 ms after, behind
    whatever else the event loop had ready). Each moment is the frame's push, not the later
    moment the observer's own task gets to it (`pushed_at`).
    """

    def __init__(self, *, agent: object) -> None:
        """Create the observer.

        Args:
            agent: The processor whose `TTSSpeakFrame`s are the agent's replies.
        """
        # First pushes only: Pipecat then queues each frame to this observer once, not once
        # per processor it passes (the rest were skipped here anyway).
        super().__init__(observe_every_push=False)
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
        frame, now = data.frame, pushed_at(data)
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
