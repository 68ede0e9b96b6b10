"""Holding the agent's speech while the caller talks over it, and playing it on afterwards.

When the caller starts speaking over the agent it is not yet known whether they are taking the
turn ("wait, it's Thursday") or only saying "mhm". Cutting the agent off at once makes every
backchannel an interruption; waiting for the words makes every barge-in late. So the agent's
audio is *held* the moment the caller starts (Twilio is sent `clear`, which drops what it had
queued), and the agent processor decides once it knows what was said: play the held audio on
(`ResumePlaybackFrame`), or drop it (an `InterruptionFrame`).

Audio leaves a little ahead of being played (`AUDIO_LEAD_S`), so a busy event loop does not
put holes in the agent's speech; what was sent ahead and dropped by `clear` is sent again when
a hold ends in a resume.

The hold sits in the output transport, at the one place audio leaves at real time: everything
not yet sent (the rest of the sentence, the sentences after it, their end markers) simply
waits in the transport's own queue, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
    SystemFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

from dentalvoice.voice.line_input import DirectInputTransport

# How far ahead of playing the agent's audio is sent: an event-loop stall shorter than this
# (plus one chunk) is not heard as a gap. Twilio buffers it; a barge-in's `clear` drops it.
AUDIO_LEAD_S = 0.2


class PausePlaybackFrame(SystemFrame):
    """Hold the agent's audio: the caller started talking over it."""


class ResumePlaybackFrame(SystemFrame):
    """Play the held audio on: the caller only acknowledged (or it was noise)."""


class HoldingOutputTransport(FastAPIWebsocketOutputTransport):
    """The websocket output: sends audio a little ahead of playing it, and can hold it."""

    def __init__(
        self,
        *args: Any,
        lead_s: float = AUDIO_LEAD_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        """Create the output.

        Args:
            *args: As Pipecat's websocket output.
            lead_s: How far ahead of playing audio is sent (`AUDIO_LEAD_S`).
            clock: Monotonic seconds (tests pass a fake).
            sleep: How to wait (tests pass a fake that moves their clock).
            **kwargs: As Pipecat's websocket output.
        """
        super().__init__(*args, **kwargs)
        self._lead_s = lead_s
        self._clock = clock
        self._sleep = sleep
        self._playing = asyncio.Event()
        self._playing.set()
        # Bumped by every interruption: a chunk that waited through one is dropped.
        self._generation = 0
        # When the audio sent so far will have played at the far end (monotonic seconds).
        self._play_end = 0.0
        # Chunks sent and not yet played out, with when each ends: `clear` drops them.
        self._unplayed: deque[tuple[OutputAudioRawFrame, float]] = deque()
        self._rewind: deque[OutputAudioRawFrame] = deque()
        self._sending: OutputAudioRawFrame | None = None

    @property
    def holding(self) -> bool:
        """Whether the agent's audio is being held."""
        return not self._playing.is_set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Hold, resume, or (on an interruption or the end) let go of the held audio."""
        if isinstance(frame, PausePlaybackFrame):
            await self._hold()
        elif isinstance(frame, ResumePlaybackFrame):
            self._playing.set()
        elif isinstance(frame, InterruptionFrame):
            self._generation += 1
            self._rewind.clear()
            self._unplayed.clear()
            self._play_end = 0.0  # the serializer's `clear` empties Twilio's buffer
            self._playing.set()
        elif isinstance(frame, (EndFrame, CancelFrame)):
            # The pipeline waits for the audio queue to drain before it ends.
            self._playing.set()
        await super().process_frame(frame, direction)

    async def stop(self, frame: EndFrame) -> None:
        """Let the audio sent ahead play out, then end the stream (and so the call)."""
        # Pipecat's websocket output drains its queue, sends the end (the serializer hangs
        # up) and disconnects; the wait has to come between the first step and the others.
        await super(FastAPIWebsocketOutputTransport, self).stop(frame)
        remaining = self._play_end - self._clock()
        if remaining > 0:
            await self._sleep(remaining)
        await self._write_frame(frame)
        await self._client.disconnect()  # type: ignore[no-untyped-call]

    async def _hold(self) -> None:
        if self.holding:
            return
        self._playing.clear()
        now = self._clock()
        unplayed = [chunk for chunk, ends in self._unplayed if ends > now]
        self._unplayed.clear()
        self._play_end = now
        if unplayed:
            # Twilio still has these queued; `clear` drops them, so they are played again on
            # resuming (the first one whole, though its start may have been heard).
            self._rewind.extendleft(reversed(unplayed))
            await self._write_frame(InterruptionFrame())  # the serializer's `clear`

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Send a chunk when it is at most the lead ahead of playing, after any hold is over."""
        if self.holding:
            generation = self._generation
            await self._playing.wait()
            if generation != self._generation:
                return True  # dropped: the caller took the turn
        while self._rewind:
            if not await self._send(self._rewind.popleft()):
                return False
        return await self._send(frame)

    async def _send(self, frame: OutputAudioRawFrame) -> bool:
        self._sending = frame
        try:
            # Pipecat's write serialises and sends, then paces itself (`_write_audio_sleep`).
            return await super().write_audio_frame(frame)
        finally:
            self._sending = None

    async def _write_audio_sleep(self) -> None:
        """Pace against when the far end will have played what was sent, `lead_s` ahead.

        Pipecat's own pacing sends each chunk as the previous one finishes playing, so any
        event-loop stall longer than a chunk (40 ms) is a gap the caller hears, and it never
        catches up. Twilio buffers what arrives early and `clear` still drops it.
        """
        now = self._clock()
        frame = self._sending
        seconds = (
            len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
            if frame is not None
            else self._send_interval
        )
        self._play_end = max(self._play_end, now) + seconds
        if frame is not None:
            self._unplayed.append((frame, self._play_end))
        while self._unplayed and self._unplayed[0][1] <= now:
            self._unplayed.popleft()
        wait = self._play_end - self._lead_s - now
        if wait > 0:
            await self._sleep(wait)


class PhoneLineTransport(FastAPIWebsocketTransport):
    """`FastAPIWebsocketTransport` whose output can hold the agent's audio and whose input
    pushes each frame on as it is read (`line_input`)."""

    def __init__(self, *, websocket: Any, params: FastAPIWebsocketParams) -> None:
        """Create the transport for one call's media socket.

        The socket is the router's; it is not typed here because the HTTP framework stays at
        the edges (`tests/test_architecture.py`).
        """
        super().__init__(websocket=websocket, params=params)
        # Pipecat 1.14 builds its input and output in __init__ with no hook to choose the class.
        self._input = DirectInputTransport(self, self._client, self._params, name=self._input_name)
        self._output = HoldingOutputTransport(
            self, self._client, self._params, name=self._output_name
        )
