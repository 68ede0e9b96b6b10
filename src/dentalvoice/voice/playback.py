"""Holding the agent's speech while the caller talks over it, and playing it on afterwards.

When the caller starts speaking over the agent it is not yet known whether they are taking the
turn ("wait, it's Thursday") or only saying "mhm". Cutting the agent off at once makes every
backchannel an interruption; waiting for the words makes every barge-in late. So the agent's
audio is *held* the moment the caller starts (Twilio is sent `clear`, which drops the one
chunk it had queued), and the agent processor decides once it knows what was said: play the
held audio on (`ResumePlaybackFrame`), or drop it (an `InterruptionFrame`).

The hold sits in the output transport, at the one place audio leaves at real time: everything
not yet sent (the rest of the sentence, the sentences after it, their end markers) simply
waits in the transport's own queue, in order.
"""

from __future__ import annotations

import asyncio
import time
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


class PausePlaybackFrame(SystemFrame):
    """Hold the agent's audio: the caller started talking over it."""


class ResumePlaybackFrame(SystemFrame):
    """Play the held audio on: the caller only acknowledged (or it was noise)."""


class HoldingOutputTransport(FastAPIWebsocketOutputTransport):
    """The websocket output, able to hold its audio between two chunks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the output; arguments as `FastAPIWebsocketOutputTransport`'s."""
        super().__init__(*args, **kwargs)
        self._playing = asyncio.Event()
        self._playing.set()
        # Bumped by every interruption: a chunk that waited through one is dropped.
        self._generation = 0
        self._last_chunk: OutputAudioRawFrame | None = None
        self._last_chunk_ends = 0.0  # monotonic time its playing ends
        self._rewind: OutputAudioRawFrame | None = None

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
            self._rewind = None
            self._last_chunk = None
            self._playing.set()
        elif isinstance(frame, (EndFrame, CancelFrame)):
            # The pipeline waits for the audio queue to drain before it ends.
            self._playing.set()
        await super().process_frame(frame, direction)

    async def _hold(self) -> None:
        if self.holding:
            return
        self._playing.clear()
        if self._last_chunk is not None and time.monotonic() < self._last_chunk_ends:
            # Twilio has at most this chunk queued (Pipecat sends each at its real-time slot);
            # `clear` drops its unplayed part, so it is played again on resuming.
            self._rewind = self._last_chunk
            await self._write_frame(InterruptionFrame())  # the serializer's `clear`

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        """Write a chunk at its real-time slot, after any hold is over."""
        if self.holding:
            generation = self._generation
            await self._playing.wait()
            if generation != self._generation:
                return True  # dropped: the caller took the turn
        if self._rewind is not None:
            rewind, self._rewind = self._rewind, None
            await super().write_audio_frame(rewind)
        self._last_chunk = frame
        seconds = len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
        self._last_chunk_ends = time.monotonic() + seconds
        return await super().write_audio_frame(frame)


class PhoneLineTransport(FastAPIWebsocketTransport):
    """`FastAPIWebsocketTransport` whose output can hold the agent's audio."""

    def __init__(self, *, websocket: Any, params: FastAPIWebsocketParams) -> None:
        """Create the transport for one call's media socket.

        The socket is the router's; it is not typed here because the HTTP framework stays at
        the edges (`tests/test_architecture.py`).
        """
        super().__init__(websocket=websocket, params=params)
        # Pipecat 1.14 builds its output in __init__ with no hook to choose the class.
        self._output = HoldingOutputTransport(
            self, self._client, self._params, name=self._output_name
        )
