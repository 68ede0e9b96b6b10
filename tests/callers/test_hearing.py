"""Turn segmentation on synthetic audio, and question marks put back: no models."""

from __future__ import annotations

import pytest

from dentalvoice.callers import TurnSegmenter, mark_questions
from dentalvoice.callers.audio import silence
from dentalvoice.emulators.twilio import HeardFrame, speech_like, tone


def _frames(audio: bytes, at: float) -> list[HeardFrame]:
    return [HeardFrame(at + i / 8000, audio[i : i + 160]) for i in range(0, len(audio), 160)]


def _push_all(segmenter: TurnSegmenter, frames: list[HeardFrame]) -> list[object]:
    return [turn for frame in frames if (turn := segmenter.push(frame)) is not None]


def test_short_pauses_stay_inside_a_turn_and_a_long_gap_ends_it() -> None:
    segmenter = TurnSegmenter(gap_ms=900)
    # Sentence, 300 ms of played silence, sentence, 500 ms with no frames at all (the agent
    # sent nothing), a third sentence: one turn.
    first = _frames(speech_like(1.0), at=10.0)
    pause = _frames(silence(0.3), at=11.0)
    second = _frames(speech_like(0.6, seed=2), at=11.3)
    third = _frames(speech_like(0.4, seed=3), at=12.4)
    assert _push_all(segmenter, first + pause + second + third) == []
    assert segmenter.in_turn
    assert segmenter.next_index == 0
    assert segmenter.speech_s == pytest.approx(2.8)
    assert segmenter.deadline == pytest.approx(12.8 + 0.9)

    # The next frame comes after the deadline: the turn it ends is handed back first.
    later = _frames(speech_like(0.5, seed=4), at=14.0)
    closed = segmenter.push(later[0])
    assert closed is not None
    assert (closed.index, closed.start_at, closed.end_at) == (0, 10.0, pytest.approx(12.8))
    # Played silence is kept, the 500 ms nobody played is filled in: the timing survives.
    assert len(closed.audio) == pytest.approx(2.8 * 8000, abs=160)
    assert closed.audio[round(1.9 * 8000) : round(2.4 * 8000)] == silence(0.5)
    assert _push_all(segmenter, later[1:]) == []
    second_turn = segmenter.close()
    assert second_turn is not None and second_turn.index == 1
    assert second_turn.start_at == 14.0 and second_turn.speech_s == pytest.approx(0.5)
    assert segmenter.close() is None and segmenter.deadline is None


def test_silence_before_speech_is_not_a_turn_but_a_little_is_kept_as_lead_in() -> None:
    segmenter = TurnSegmenter()
    assert _push_all(segmenter, _frames(silence(2.0), at=0.0)) == []
    assert not segmenter.in_turn and segmenter.deadline is None
    _push_all(segmenter, _frames(speech_like(0.5), at=2.0))
    turn = segmenter.close()
    assert turn is not None and turn.start_at == 2.0
    # Five frames (100 ms) of what came before, so a soft first syllable is not cut.
    assert len(turn.audio) == pytest.approx((0.1 + 0.5) * 8000, abs=160)


def test_frames_that_may_not_open_a_turn_only_go_on_with_one() -> None:
    segmenter = TurnSegmenter(gap_ms=900)
    quiet = _frames(silence(0.1), at=0.0)
    under = _frames(speech_like(0.3), at=0.1)
    # Heard under the caller's own words: no turn, and nothing kept as lead-in either.
    assert [segmenter.push(f) for f in quiet] == [None] * len(quiet)
    assert [segmenter.push(f, opens=False) for f in under] == [None] * len(under)
    assert not segmenter.in_turn and segmenter.deadline is None
    _push_all(segmenter, _frames(speech_like(0.5, seed=2), at=2.0))
    # A turn already open goes on.
    for frame in _frames(speech_like(0.2, seed=3), at=2.5):
        segmenter.push(frame, opens=False)
    turn = segmenter.close()
    assert turn is not None and turn.start_at == 2.0 and turn.end_at == pytest.approx(2.7)
    assert len(turn.audio) == pytest.approx(0.7 * 8000, abs=160)


def test_a_click_is_not_a_turn() -> None:
    segmenter = TurnSegmenter(min_speech_ms=100)
    _push_all(segmenter, _frames(tone(500.0, 0.04), at=0.0))
    assert segmenter.in_turn
    assert segmenter.close() is None
    assert segmenter.next_index == 0


def test_snapshot_is_the_turn_so_far() -> None:
    segmenter = TurnSegmenter()
    assert segmenter.snapshot() is None
    _push_all(segmenter, _frames(speech_like(1.5), at=5.0))
    partial = segmenter.snapshot()
    assert partial is not None
    assert (partial.index, partial.start_at) == (0, 5.0)
    assert partial.speech_s == pytest.approx(1.5)
    assert segmenter.in_turn  # a snapshot does not end the turn


def test_threshold_decides_what_is_voice() -> None:
    quiet = HeardFrame(0.0, tone(300.0, 0.02, amplitude=0.003))  # about -53 dBFS
    loud = HeardFrame(0.0, tone(300.0, 0.02, amplitude=0.1))
    assert not TurnSegmenter(threshold_dbfs=-40).is_voiced(quiet)
    assert TurnSegmenter(threshold_dbfs=-60).is_voiced(quiet)
    assert TurnSegmenter().is_voiced(loud)


def test_gap_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TurnSegmenter(gap_ms=0)


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        (
            "Great, and which days and times work best for you.",
            "Great, and which days and times work best for you?",
        ),
        ("Okay. So do you have any swelling", "Okay. So do you have any swelling?"),
        (
            "on a scale from 0 to 10. How bad is the pain.",
            "on a scale from 0 to 10. How bad is the pain?",
        ),
        ("Is this Sarah?", "Is this Sarah?"),
        ("Thank you, have a great day.", "Thank you, have a great day."),
        (
            "Of course, thank you for your time. Goodbye.",
            "Of course, thank you for your time. Goodbye.",
        ),
        ("I'm calling from Bright Smile Dental.", "I'm calling from Bright Smile Dental."),
        ("", ""),
    ],
)
def test_mark_questions(heard: str, meant: str) -> None:
    assert mark_questions(heard) == meant
