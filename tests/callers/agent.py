"""A scripted stand-in for the voice agent, on the app's end of the Media Stream.

It plays prepared lines as Twilio `media` messages, each followed by a `mark`, and between
lines waits for the caller's answer: voice in the inbound audio, then `reply_gap_s` of
silence. A line marked `interruptible` is cut with `clear` as soon as the caller speaks over
it. Everything waits on what arrives on the socket (a condition), never on a clock.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dentalvoice.callers.audio import dbfs, ulaw_decode

from ..emulators.twilio.harness import AppSocket

FRAME_S = 0.02


@dataclass(frozen=True)
class Line:
    """What the agent says (`audio`: 8 kHz μ-law of `text`) and how."""

    text: str
    audio: bytes
    interruptible: bool = False
    await_reply: bool = True


@dataclass(frozen=True)
class Reply:
    """The caller's audio after (or over) one line, as the app received it."""

    after_line: int
    started_at: float
    ended_at: float
    audio: bytes


@dataclass
class _Inbound:
    at: float
    audio: bytes
    voiced: bool


@dataclass
class ScriptedAgent:
    """Plays `lines` on `app` and records what came back."""

    app: AppSocket
    lines: Sequence[Line]
    reply_gap_s: float = 0.6
    threshold_dbfs: float = -40.0
    timeout_s: float = 20.0
    sent_at: list[float] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    _inbound: list[_Inbound] = field(default_factory=list)
    _marks: set[str] = field(default_factory=set)
    _closed: bool = False
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def run(self) -> None:
        """Play every line, then wait for the caller to hang up (the socket closes)."""
        start, _ = await self.app.recv_until("start")
        stream_sid = str(start["streamSid"])
        reader = asyncio.create_task(self._read())
        try:
            for index, line in enumerate(self.lines):
                since = len(self._inbound)
                await self._play(stream_sid, index, line, since)
                if line.await_reply:
                    await self._await_reply(index, since)
            await self._until(lambda: self._closed, allow_close=True)
        finally:
            reader.cancel()
            await asyncio.wait({reader})

    async def _read(self) -> None:
        while (message := await self.app.recv()) is not None:
            async with self._changed:
                if message["event"] == "media":
                    audio = base64.b64decode(message["media"]["payload"])
                    voiced = dbfs(ulaw_decode(audio)) > self.threshold_dbfs
                    self._inbound.append(_Inbound(time.monotonic(), audio, voiced))
                elif message["event"] == "mark":
                    self._marks.add(message["mark"]["name"])
                self._changed.notify_all()
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def _play(self, stream_sid: str, index: int, line: Line, since: int) -> None:
        name = f"line-{index}"
        self.sent_at.append(time.monotonic())
        await self.app.send_audio(stream_sid, line.audio)
        await self.app.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})
        if line.interruptible:
            await self._until(lambda: name in self._marks or self._voice_from(since) is not None)
            if name not in self._marks:
                await self.app.send({"event": "clear", "streamSid": stream_sid})
                self.cleared.append(index)
        await self._until(lambda: name in self._marks)

    async def _await_reply(self, index: int, since: int) -> None:
        gap = round(self.reply_gap_s / FRAME_S)

        def done() -> bool:
            first = self._voice_from(since)
            if first is None:
                return False
            last = max(k for k in range(first, len(self._inbound)) if self._inbound[k].voiced)
            return len(self._inbound) - 1 - last >= gap

        await self._until(done)
        first = self._voice_from(since)
        assert first is not None
        voiced = [k for k in range(first, len(self._inbound)) if self._inbound[k].voiced]
        frames = self._inbound[first : voiced[-1] + 1]
        self.replies.append(
            Reply(index, frames[0].at, frames[-1].at, b"".join(f.audio for f in frames))
        )

    def _voice_from(self, since: int) -> int | None:
        return next((k for k in range(since, len(self._inbound)) if self._inbound[k].voiced), None)

    async def _until(self, predicate: Callable[[], bool], *, allow_close: bool = False) -> None:
        def ready() -> bool:
            if self._closed and not allow_close:
                raise AssertionError("the caller hung up while the agent was waiting")
            return predicate()

        async with asyncio.timeout(self.timeout_s), self._changed:
            await self._changed.wait_for(ready)
