"""The callee's end of a call: what a simulated person or machine says, hears and does.

A `CallerLine` exists from answer to hang-up. What the callee says (`say`) leaves as paced
20 ms μ-law frames — silence when it has nothing to say — and reaches the app whenever a
Media Stream is open. What the app plays (stream audio the emulator has played out in real
time) arrives through `heard()`; audio the app cleared before it played is never heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from dentalvoice.emulators.twilio.audio import FRAME_BYTES, FRAME_S, SILENCE_BYTE
from dentalvoice.emulators.twilio.records import CallRecord, VoicemailRecord

MachinePhase = Literal["greeting", "beep", "silence"]
Sink = Callable[[bytes], Awaitable[None]]

_SILENT_FRAME = bytes([SILENCE_BYTE]) * FRAME_BYTES
# Past this lag the uplink re-synchronises to the clock instead of bursting to catch up.
_MAX_LAG_S = 0.2


@dataclass(frozen=True, slots=True)
class HeardFrame:
    """Agent audio as the callee heard it.

    Attributes:
        at: Monotonic time the frame started playing.
        audio: μ-law bytes (160 for a full 20 ms frame; less for a short tail).
    """

    at: float
    audio: bytes


class CallerLine:
    """The callee's handle on an answered call.

    Attributes:
        call_sid: The call's SID.
        to: The number that was called (the callee's).
        from_: The caller ID shown.
    """

    def __init__(
        self,
        *,
        record: CallRecord,
        on_hang_up: Callable[[], None],
        on_machine: Callable[[MachinePhase], None],
    ) -> None:
        self.call_sid = record.sid
        self.to = record.to
        self.from_ = record.from_
        self._record = record
        self._on_hang_up = on_hang_up
        self._on_machine = on_machine
        self._ended = asyncio.Event()
        self._speech: deque[tuple[bytes, asyncio.Future[None]]] = deque()
        self._speech_offset = 0
        self._sink: Sink | None = None
        self._wake = asyncio.Event()
        self._listeners: list[asyncio.Queue[HeardFrame | None]] = []
        self.frames_said = 0

    # -- the callee's side ----------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """The call is over."""
        return self._ended.is_set()

    async def wait_ended(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline for the wait, like asyncio.wait_for's
    ) -> bool:
        """Wait for the end of the call.

        Args:
            timeout: Seconds to wait at most; None waits for as long as it takes.

        Returns:
            True if the call ended, False if `timeout` passed first.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._ended.wait()
        return self.ended

    async def say(self, audio: bytes) -> None:
        """Speak: queue μ-law audio, sent as paced 20 ms frames after what is already queued.

        Returns when the last frame has been sent (or at once if the call is over). A short
        final frame is padded with silence, as a phone line never sends partial frames.

        Args:
            audio: μ-law 8 kHz bytes, no header.
        """
        if self.ended or not audio:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._speech.append((bytes(audio), done))
        self._wake.set()
        await done

    def heard(self) -> AsyncIterator[HeardFrame]:
        """Agent audio as it plays, from now until the call ends.

        Call it before the audio you want to hear starts: frames played earlier are not
        replayed. Each call returns an independent iterator.
        """
        queue: asyncio.Queue[HeardFrame | None] = asyncio.Queue()
        if self.ended:
            queue.put_nowait(None)
        else:
            self._listeners.append(queue)
        return _Heard(queue)

    async def hang_up(self) -> None:
        """Hang up; returns once the call is over."""
        if not self.ended:
            self._on_hang_up()
        await self._ended.wait()

    def report_machine(self, phase: MachinePhase) -> None:
        """For answering-machine callees: tell detection what it would hear now.

        Args:
            phase: `greeting` when a recorded greeting starts, `beep` right after the beep,
                `silence` when the greeting ends without a beep.
        """
        if not self.ended:
            self._on_machine(phase)

    def start_message(self) -> None:
        """For answering-machine callees: record everything played or said from now on."""
        if self._record.voicemail is None:
            self._record.voicemail = VoicemailRecord(started_at=time.monotonic())

    # -- the emulator's side --------------------------------------------------------------

    def attach(self, sink: Sink) -> None:
        """Send the callee's frames to `sink` (a Media Stream) from now on."""
        self._sink = sink
        self._wake.set()

    def detach(self, sink: Sink) -> None:
        """Stop sending to `sink`, if it is the current one."""
        # `==`, not `is`: each access to a bound method makes a new, equal, object.
        if self._sink == sink:
            self._sink = None

    def play(self, frame: HeardFrame) -> None:
        """Deliver agent audio that has just started playing."""
        if self._record.voicemail is not None:
            self._record.voicemail.audio += frame.audio
        for queue in self._listeners:
            queue.put_nowait(frame)

    def hear_text(self, text: str) -> None:
        """`<Say>` text reached the callee."""
        if self._record.voicemail is not None:
            self._record.voicemail.texts.append(text)

    def hear_play(self, url: str) -> None:
        """`<Play>` audio reached the callee."""
        if self._record.voicemail is not None:
            self._record.voicemail.plays.append(url)

    def end(self) -> None:
        """The call is over: release every waiter and iterator."""
        if self.ended:
            return
        self._ended.set()
        self._wake.set()
        while self._speech:
            _, done = self._speech.popleft()
            if not done.done():
                done.set_result(None)
        for queue in self._listeners:
            queue.put_nowait(None)
        self._listeners.clear()

    async def run_uplink(self) -> None:
        """Send the callee's audio, one frame per 20 ms, while a stream listens or speech waits.

        Paced by the monotonic clock: each frame is due 20 ms after the previous one, so
        the rate holds even when a send is slow. With nobody listening and nothing to say
        the loop sleeps until either changes.
        """
        clock: float | None = None
        while not self.ended:
            if self._sink is None and not self._speech:
                clock = None
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            if clock is None or now - clock > _MAX_LAG_S:
                clock = now
            frame, finished = self._next_frame()
            sink = self._sink
            if sink is not None:
                await sink(frame)
            self.frames_said += 1
            for done in finished:
                if not done.done():
                    done.set_result(None)
            clock += FRAME_S
            delay = clock - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    def _next_frame(self) -> tuple[bytes, list[asyncio.Future[None]]]:
        if not self._speech:
            return _SILENT_FRAME, []
        parts: list[bytes] = []
        finished: list[asyncio.Future[None]] = []
        need = FRAME_BYTES
        while need and self._speech:
            audio, done = self._speech[0]
            piece = audio[self._speech_offset : self._speech_offset + need]
            parts.append(piece)
            need -= len(piece)
            self._speech_offset += len(piece)
            if self._speech_offset >= len(audio):
                self._speech.popleft()
                self._speech_offset = 0
                finished.append(done)
        frame = b"".join(parts)
        return frame + bytes([SILENCE_BYTE]) * (FRAME_BYTES - len(frame)), finished


class _Heard:
    """Async iterator over one listener queue; stops at the end-of-call marker."""

    def __init__(self, queue: asyncio.Queue[HeardFrame | None]) -> None:
        self._queue = queue
        self._done = False

    def __aiter__(self) -> _Heard:
        return self

    async def __anext__(self) -> HeardFrame:
        if self._done:
            raise StopAsyncIteration
        frame = await self._queue.get()
        if frame is None:
            self._done = True
            raise StopAsyncIteration
        return frame
