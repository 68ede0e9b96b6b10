"""The per-turn latency observer, fed frame pushes directly."""

from __future__ import annotations

import time

from pipecat.clocks.base_clock import BaseClock
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    Frame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from dentalvoice.voice.latency import LatencyObserver, TurnLatency, pushed_at

AGENT = FrameProcessor(name="agent")
OTHER = FrameProcessor(name="other")


class FixedClock(BaseClock):
    """A pipeline clock that always reads `now` (nanoseconds)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def get_time(self) -> int:
        return self.now

    def start(self) -> None:
        pass


class Clocked(FrameProcessor):
    """A processor whose pipeline clock reads `now`."""

    def __init__(self, now: int) -> None:
        super().__init__(name="clocked")
        self._clock = FixedClock(now)

    def get_clock(self) -> BaseClock:
        return self._clock


async def push(
    observer: LatencyObserver,
    frame: Frame,
    *,
    source: FrameProcessor = OTHER,
    direction: FrameDirection = FrameDirection.DOWNSTREAM,
    timestamp: int = 0,
) -> None:
    await observer.on_push_frame(
        FramePushed(
            source=source, destination=OTHER, frame=frame, direction=direction, timestamp=timestamp
        )
    )


def transcript(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z", finalized=True)


async def test_a_turn_is_timed_from_the_speech_end_to_the_first_audio() -> None:
    observer = LatencyObserver(agent=AGENT)
    await push(observer, VADUserStartedSpeakingFrame())
    await push(observer, VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await push(observer, transcript("yes"))  # before the turn is decided: speculative STT
    # The caller takes a breath and goes on while Smart Turn is still deciding.
    await push(observer, VADUserStartedSpeakingFrame())
    await push(observer, UserStoppedSpeakingFrame())
    await push(observer, UserStoppedSpeakingFrame(), direction=FrameDirection.UPSTREAM)
    await push(observer, TTSSpeakFrame("Great."), source=AGENT)
    await push(observer, BotStartedSpeakingFrame())

    (turn,) = observer.turns
    assert None not in (turn.speech_ended, turn.transcript_ready, turn.first_audio_sent)
    ms = turn.as_ms()
    # Silero's 200 ms of silence come before the stop is reported: the speech ended earlier.
    assert ms["turn_decided_ms"] is not None and ms["turn_decided_ms"] >= 200
    assert ms["transcript_ready_ms"] is not None and ms["transcript_ready_ms"] >= 200
    assert ms["first_audio_ms"] is not None and ms["first_audio_ms"] >= ms["turn_decided_ms"]


async def test_a_turn_the_caller_talked_over_has_no_first_audio() -> None:
    observer = LatencyObserver(agent=AGENT)
    await push(observer, VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await push(observer, UserStoppedSpeakingFrame())
    await push(observer, TTSSpeakFrame("Great."), source=AGENT)
    await push(observer, UserStartedSpeakingFrame())  # before any reply audio went out
    await push(observer, BotStartedSpeakingFrame())

    (turn,) = observer.turns
    assert turn.reply_ready is not None and turn.first_audio_sent is None


async def test_speech_from_others_than_the_agent_is_not_its_reply() -> None:
    observer = LatencyObserver(agent=AGENT)
    await push(observer, VADUserStoppedSpeakingFrame(stop_secs=0.2))
    await push(observer, UserStoppedSpeakingFrame())
    await push(observer, TTSSpeakFrame("Hello."), source=OTHER)
    await push(observer, BotStartedSpeakingFrame())

    (turn,) = observer.turns
    assert turn.reply_ready is None and turn.first_audio_sent is None


def test_milliseconds_are_none_without_a_speech_end() -> None:
    assert TurnLatency(turn_decided=5.0).as_ms()["turn_decided_ms"] is None
    assert TurnLatency(speech_ended=1.0, turn_decided=1.25).as_ms()["turn_decided_ms"] == 250


async def test_a_moment_is_the_push_not_when_the_observer_got_to_it() -> None:
    observer = LatencyObserver(agent=AGENT)
    # Pushed at 1.000 s on the pipeline clock, observed when the clock reads 1.005 s.
    source = Clocked(now=1_005_000_000)
    before = time.monotonic()
    await push(observer, UserStoppedSpeakingFrame(), source=source, timestamp=1_000_000_000)
    after = time.monotonic()

    (turn,) = observer.turns
    assert turn.turn_decided is not None
    assert before - 0.005 <= turn.turn_decided <= after - 0.005


def test_a_push_without_a_clock_counts_as_now() -> None:
    before = time.monotonic()
    data = FramePushed(
        source=OTHER,  # not set up: no clock
        destination=OTHER,
        frame=UserStoppedSpeakingFrame(),
        direction=FrameDirection.DOWNSTREAM,
        timestamp=123,
    )
    assert before <= pushed_at(data) <= time.monotonic()
