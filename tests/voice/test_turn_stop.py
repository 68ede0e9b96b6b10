"""The caller's turn ends on a finished-sounding transcript when Smart Turn hesitates."""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.frames.frames import (
    STTMetadataFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.utils.asyncio.task_manager import TaskManager
from pipecat.utils.time import time_now_iso8601

from dentalvoice.voice.turn_stop import WordsAwareTurnStopStrategy


class Hesitant(BaseTurnAnalyzer):
    """A turn model that thinks the caller is mid-sentence (or says `verdicts`, in order)."""

    def __init__(self, verdicts: list[EndOfTurnState] | None = None) -> None:
        super().__init__(sample_rate=16_000)
        self.cleared = 0
        self.verdicts = verdicts or []

    @property
    def speech_triggered(self) -> bool:
        return True

    @property
    def params(self) -> Any:
        return None

    def append_audio(self, buffer: bytes, is_speech: bool) -> EndOfTurnState:
        return EndOfTurnState.INCOMPLETE

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, None]:
        return (self.verdicts.pop(0) if self.verdicts else EndOfTurnState.INCOMPLETE), None

    def clear(self) -> None:
        self.cleared += 1


async def a_strategy(
    verdicts: list[EndOfTurnState] | None = None,
) -> tuple[WordsAwareTurnStopStrategy, Hesitant, list[str]]:
    analyzer = Hesitant(verdicts)
    strategy = WordsAwareTurnStopStrategy(turn_analyzer=analyzer)
    setup = FrameProcessorSetup(clock=None, task_manager=TaskManager(), pipeline_worker=None)  # type: ignore[arg-type]
    await strategy.setup(setup)
    ended: list[str] = []

    @strategy.event_handler("on_user_turn_stopped")
    async def on_stopped(_strategy: Any, _params: Any) -> None:
        ended.append(strategy._text)

    await strategy.handle_user_turn_started()
    return strategy, analyzer, ended


def final(text: str) -> TranscriptionFrame:
    return TranscriptionFrame(text, "caller", time_now_iso8601(), finalized=True)


async def caller_stops(strategy: WordsAwareTurnStopStrategy) -> None:
    await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.1))
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))


async def test_a_finished_sentence_ends_the_turn_smart_turn_held_open() -> None:
    strategy, analyzer, ended = await a_strategy()
    await caller_stops(strategy)
    assert ended == []  # Smart Turn said "not yet"
    await strategy.process_frame(final("Tuesday afternoons are best."))
    assert ended == ["Tuesday afternoons are best."]
    assert analyzer.cleared >= 1  # no phantom turn from the analyzer's silence fallback
    await strategy.cleanup()


@pytest.mark.parametrize("text", ["Sure,", "It started on Monday and.", "My tooth is..."])
async def test_words_cut_at_a_pause_keep_waiting(text: str) -> None:
    strategy, _, ended = await a_strategy()
    await caller_stops(strategy)
    await strategy.process_frame(final(text))
    assert ended == []
    await strategy.cleanup()


async def test_words_while_the_caller_is_still_speaking_do_not_end_the_turn() -> None:
    strategy, _, ended = await a_strategy()
    await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.1))
    await strategy.process_frame(final("Sorry."))
    assert ended == []
    await strategy.cleanup()


async def test_words_from_before_a_pause_do_not_end_the_speech_after_it() -> None:
    # Smart Turn: "not yet" at the pause, "done" at the end of what follows.
    strategy, _, ended = await a_strategy([EndOfTurnState.INCOMPLETE, EndOfTurnState.COMPLETE])
    # Transcripts take up to a second: the turn would otherwise end on the words it has.
    await strategy.process_frame(STTMetadataFrame(service_name="stt", ttfs_p99_latency=1.0))
    await caller_stops(strategy)
    await strategy.process_frame(VADUserStartedSpeakingFrame(start_secs=0.1))
    # The words before the pause come in while the caller is speaking again.
    await strategy.process_frame(final("No pain,"))
    await strategy.process_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    assert ended == []  # the speech that ended the turn is still being transcribed
    await strategy.process_frame(final("maybe a one."))
    assert ended == ["maybe a one."]
    await strategy.cleanup()
