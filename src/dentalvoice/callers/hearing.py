"""What the caller makes of the agent's audio: where each turn ends, and what was said.

`TurnSegmenter` groups the 20 ms frames the callee hears into agent turns by level: a turn
starts at the first voiced frame and ends once nothing voiced has played for `gap_ms`. The gap
must be longer than the pauses between an agent's sentences (a streaming pipeline leaves a
few hundred milliseconds between them), so the default is 900 ms. The emulator only delivers
frames while agent audio plays, so a silent gap shows as *no frames*: the segmenter gives the
time the open turn would end (`deadline`) and the listener closes it when that time passes.

`Transcriber` runs the shared faster-whisper model on a turn's audio in a worker thread, and
`mark_questions` puts back the question marks `tiny.en` drops on phone audio ("which days work
best for you."): a listener hears the rising tone, the text-mode caller needs the "?".
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from dentalvoice.callers.audio import PHONE_RATE, dbfs, silence, ulaw_decode, ulaw_to_whisper
from dentalvoice.conversation.evaluation.caller import split_sentences
from dentalvoice.emulators.twilio.line import HeardFrame

# Frames kept from before the first voiced one, so a soft onset is not clipped off.
_PRE_ROLL_FRAMES = 5
# Silence kept after the last voiced frame, so a soft ending is not clipped off either.
_TAIL_S = 0.1
# Words that open a sentence without changing what it asks: "Great, and which days ...".
_LEAD_IN = re.compile(
    r"^(?:(?:great|good|okay|ok|alright|all right|perfect|thanks|thank you|got it|sure|"
    r"and|so|now|well|also|then|just)\b[,.!]?\s*)+",
    re.IGNORECASE,
)
# A sentence that asks: a question word, or an auxiliary before its subject ("do you", "is
# this"). The subject is required so that "Have a great day." stays a statement.
_ASKING = re.compile(
    r"^(?:(?:what|what's|when|which|who|whose|where|why|how)\b"
    r"|(?:is|are|was|were|am|do|does|did|can|could|would|will|shall|should|may|might|have|"
    r"has|had)\s+(?:you|i|we|it|this|that|there|he|she|they|your|the|now|everything|"
    r"anything|any|anyone|someone|my|our)\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """One agent turn as heard (or its beginning, when the caller barged in).

    Attributes:
        index: 0 for the agent's opening turn, then 1, 2, … .
        start_at: Monotonic time its first voiced frame started playing.
        end_at: Monotonic time its last voiced frame finished playing.
        audio: 8 kHz μ-law from shortly before `start_at` to shortly after `end_at`, with
            silence where no frames played.
    """

    index: int
    start_at: float
    end_at: float
    audio: bytes

    @property
    def speech_s(self) -> float:
        """From the first voiced frame to the end of the last."""
        return self.end_at - self.start_at


def mark_questions(text: str) -> str:
    """The transcript with "?" on sentences that ask but were transcribed with "." or nothing.

    Example: "Great, and which days work best for you." becomes "… for you?"; "Have a great
    day." is left alone.
    """
    sentences = []
    for sentence in split_sentences(text):
        body = sentence.rstrip()
        if not body.endswith("?") and _ASKING.match(_LEAD_IN.sub("", body)):
            body = body.rstrip(".!,;: ") + "?"
        sentences.append(body)
    return " ".join(sentences)


class TurnSegmenter:
    """Splits heard agent audio into turns at silences of `gap_ms` or more.

    Args:
        gap_ms: Silence that ends a turn.
        threshold_dbfs: A frame louder than this (RMS) is voiced.
        min_speech_ms: A turn with less voiced audio than this (a click, a breath) is dropped.
    """

    def __init__(
        self, *, gap_ms: int = 900, threshold_dbfs: float = -40.0, min_speech_ms: int = 100
    ) -> None:
        if gap_ms <= 0:
            raise ValueError("gap_ms must be positive")
        self.gap_s = gap_ms / 1000
        self.threshold_dbfs = threshold_dbfs
        self.min_speech_s = min_speech_ms / 1000
        self._count = 0
        self._pre_roll: deque[HeardFrame] = deque(maxlen=_PRE_ROLL_FRAMES)
        self._frames: list[HeardFrame] = []
        self._start_at: float | None = None
        self._last_voiced_end: float | None = None
        self._voiced_s = 0.0
        self._open_until = 0.0

    def is_voiced(self, frame: HeardFrame) -> bool:
        """Whether the frame is louder than the threshold."""
        return dbfs(ulaw_decode(frame.audio)) > self.threshold_dbfs

    @property
    def in_turn(self) -> bool:
        """A turn has started and not yet ended."""
        return self._start_at is not None

    @property
    def next_index(self) -> int:
        """The index the open (or next) turn gets."""
        return self._count

    @property
    def deadline(self) -> float | None:
        """Monotonic time the open turn ends unless something voiced plays before; None if none."""
        if self._last_voiced_end is None:
            return None
        return max(self._last_voiced_end + self.gap_s, self._open_until)

    def keep_open_until(self, at: float) -> None:
        """Do not end the open turn at a silence before monotonic time `at`.

        A listener who just said "mhm" waits for the speaker to go on; the pause that follows
        their murmur is not the end of the speaker's turn.
        """
        self._open_until = max(self._open_until, at)

    @property
    def speech_s(self) -> float:
        """How long the agent has been speaking in the open turn (0 without one)."""
        if self._start_at is None or self._last_voiced_end is None:
            return 0.0
        return self._last_voiced_end - self._start_at

    def push(
        self, frame: HeardFrame, *, voiced: bool | None = None, opens: bool = True
    ) -> AgentTurn | None:
        """Take the next heard frame.

        Args:
            frame: The frame, in playing order.
            voiced: Its level decision if the caller already made it (`is_voiced`).
            opens: Whether the frame may start a turn. False: it only goes on with the open
                one, if any, and is dropped otherwise (with the frames kept before it).

        Returns:
            The previous turn, when this frame starts playing after that turn's deadline
            (the listener had not yet closed it), else None.
        """
        if voiced is None:
            voiced = self.is_voiced(frame)
        closed = None
        deadline = self.deadline
        if deadline is not None and frame.at >= deadline:
            closed = self.close()
        frame_end = frame.at + len(frame.audio) / PHONE_RATE
        if self._start_at is None:
            if not opens:
                self._pre_roll.clear()
                return closed
            if not voiced:
                self._pre_roll.append(frame)
                return closed
            self._start_at = frame.at
            self._frames = list(self._pre_roll)
            self._pre_roll.clear()
        self._frames.append(frame)
        if voiced:
            self._last_voiced_end = frame_end
            self._voiced_s += frame_end - frame.at
        return closed

    def snapshot(self) -> AgentTurn | None:
        """The open turn so far (for barging in), without ending it."""
        if self._start_at is None or self._last_voiced_end is None:
            return None
        return AgentTurn(
            self._count, self._start_at, self._last_voiced_end, self._audio(self._last_voiced_end)
        )

    def close(self) -> AgentTurn | None:
        """End the open turn now (its deadline passed).

        Returns:
            The turn, or None when there was none or it was too short to count.
        """
        turn = self.snapshot()
        voiced_s = self._voiced_s
        self._frames = []
        self._start_at = None
        self._last_voiced_end = None
        self._voiced_s = 0.0
        if turn is None or voiced_s < self.min_speech_s:
            return None
        self._count += 1
        return turn

    def _audio(self, voiced_end: float) -> bytes:
        # Frames stop arriving when the agent sends nothing; fill those gaps with silence so
        # the audio keeps the timing the caller heard.
        parts: list[bytes] = []
        cursor: float | None = None
        limit = voiced_end + _TAIL_S
        for frame in self._frames:
            if frame.at >= limit:
                break
            if cursor is not None and frame.at - cursor > 0.005:
                parts.append(silence(frame.at - cursor))
            parts.append(frame.audio)
            cursor = frame.at + len(frame.audio) / PHONE_RATE
        return b"".join(parts)


class Transcriber:
    """Agent audio (8 kHz μ-law) to text with faster-whisper.

    Args:
        model: A loaded `WhisperModel`; None uses the process's shared one on first use.
        beam_size: Beam search width; greedy (1) by default, since the agent's audio is
            clean synthesized speech.
        prompt: Text to condition on (e.g. carrier names the agent may say).
    """

    def __init__(
        self, model: Any | None = None, *, beam_size: int = 1, prompt: str | None = None
    ) -> None:
        self._model = model
        self.beam_size = beam_size
        self.prompt = prompt

    def transcribe(self, ulaw: bytes) -> str:
        """The words in the audio (blocking; see `transcribe_async`)."""
        if not ulaw:
            return ""
        segments, _info = self._whisper().transcribe(
            ulaw_to_whisper(ulaw),
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            initial_prompt=self.prompt,
        )
        # `segments` is a generator: decoding happens while it is consumed, in this thread.
        return " ".join(segment.text.strip() for segment in segments).strip()

    def warm_up(self) -> None:
        """Load the model and run it once (blocking): the first run is several times slower."""
        self.transcribe(silence(0.5))

    async def transcribe_async(self, ulaw: bytes) -> str:
        """`transcribe` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.transcribe, ulaw)

    def _whisper(self) -> Any:
        if self._model is None:
            from dentalvoice.voice import models

            self._model = models.whisper()
        return self._model
