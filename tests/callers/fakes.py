"""Test doubles: a real `CallerLine` without an emulator, and model-free ears and voice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dentalvoice.callers import CallerVoice, Transcriber
from dentalvoice.emulators.twilio import CallerLine, CallRecord, HeardFrame, speech_like, tone

SILENT_FRAME = b"\xff" * 160


class ScriptedEars(Transcriber):
    """Hears, in order, the texts given, whatever the audio."""

    def __init__(self, texts: Iterable[str]) -> None:
        super().__init__(model=object())
        self.texts = list(texts)
        self.audio: list[bytes] = []
        self.asked = asyncio.Event()  # set at each transcription; the test clears it

    def transcribe(self, ulaw: bytes) -> str:
        self.audio.append(ulaw)
        return self.texts.pop(0)

    async def transcribe_async(self, ulaw: bytes) -> str:
        # On the loop, not in a thread: the caller decides in the same step, so a test woken
        # by `asked` sees the decision made.
        self.asked.set()
        return self.transcribe(ulaw)


class ToneVoice(CallerVoice):
    """Says everything as `seconds` (default 0.1) of 440 Hz."""

    def __init__(self, *, seconds: float = 0.1) -> None:
        super().__init__(voice=object(), cache_size=0)
        self.seconds = seconds
        self.said: list[str] = []

    def synthesize(self, text: str) -> bytes:
        self.said.append(text)
        return tone(440.0, self.seconds)


class _Line(CallerLine):
    """A `CallerLine` that tells when the callee has started listening."""

    listening: asyncio.Event

    def heard(self) -> AsyncIterator[HeardFrame]:
        frames = super().heard()
        self.listening.set()
        return frames


@dataclass
class LoneLine:
    """A `CallerLine` whose uplink runs into a list; the test plays the agent's frames."""

    line: _Line
    uplink: asyncio.Task[None]
    sent: list[tuple[float, bytes]] = field(default_factory=list)
    caller_spoke: asyncio.Event = field(default_factory=asyncio.Event)
    caller_done: asyncio.Event = field(default_factory=asyncio.Event)

    def play_turn(self, seconds: float, *, at: float) -> float:
        """Play speech-like agent audio starting at `at`; returns when it ends."""
        audio = speech_like(seconds)
        for offset in range(0, len(audio), 160):
            self.line.play(HeardFrame(at + offset / 8000, audio[offset : offset + 160]))
        return at + len(audio) / 8000

    def expect_speech(self) -> None:
        """Re-arm `caller_spoke` and `caller_done` for the caller's next utterance."""
        self.caller_spoke.clear()
        self.caller_done.clear()

    async def close(self) -> None:
        self.line.end()
        await asyncio.wait({self.uplink})


async def lone_line() -> LoneLine:
    """A line as the emulator would hand it to a callee, with nobody at the other end."""
    record = CallRecord(
        sid="CA" + "0" * 32,
        account_sid="AC" + "0" * 32,
        to="+13055550123",
        from_="+13055550999",
        params={},
        status="in-progress",
        date_created=datetime.now(UTC),
        arrived_at=time.monotonic(),
    )
    holder: list[LoneLine] = []
    line = _Line(
        record=record, on_hang_up=lambda: holder[0].line.end(), on_machine=lambda phase: None
    )
    line.listening = asyncio.Event()
    lone = LoneLine(line=line, uplink=asyncio.create_task(line.run_uplink()))
    holder.append(lone)

    async def sink(frame: bytes) -> None:
        lone.sent.append((time.monotonic(), frame))
        if frame != SILENT_FRAME:
            lone.caller_spoke.set()
        elif lone.caller_spoke.is_set():
            lone.caller_done.set()

    line.attach(sink)
    return lone
