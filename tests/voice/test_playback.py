"""The agent's audio leaves a little ahead of playing, and a hold replays what `clear` dropped."""

from __future__ import annotations

from typing import Any

import pytest
from pipecat.frames.frames import InterruptionFrame, OutputAudioRawFrame
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams

from dentalvoice.voice.playback import AUDIO_LEAD_S, HoldingOutputTransport

RATE = 8_000
CHUNK_S = 0.04


class FakeClock:
    """Monotonic time that only moves when the transport sleeps (or a test says so)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Recording(HoldingOutputTransport):
    """The output with its socket replaced by a list of (time, what was sent)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(
            None, object(), FastAPIWebsocketParams(), clock=clock, sleep=clock.sleep, name="out"
        )
        self.clock = clock
        self.sent: list[tuple[float, Any]] = []

    async def _write_frame(self, frame: Any) -> bool:
        self.sent.append((self.clock.now, frame))
        return True

    async def write_chunk(self, chunk: OutputAudioRawFrame) -> None:
        # What Pipecat's write does around the socket: send, then pace.
        self._sending = chunk
        await self._write_frame(chunk)
        await self._write_audio_sleep()
        self._sending = None


def chunk(n: int) -> OutputAudioRawFrame:
    samples = int(RATE * CHUNK_S)
    return OutputAudioRawFrame(bytes([n]) * 2 * samples, sample_rate=RATE, num_channels=1)


async def test_audio_is_sent_ahead_of_playing_by_the_lead_and_no_more() -> None:
    clock = FakeClock()
    out = Recording(clock)
    start = clock.now
    for n in range(20):
        await out.write_chunk(chunk(n))
    for n, (at, _) in enumerate(out.sent):
        plays_at = start + n * CHUNK_S
        assert plays_at - at <= AUDIO_LEAD_S + 1e-9  # never further ahead than the lead
    # Past the lead the sender waits: chunk 10 leaves a lead before it plays, not at once.
    assert out.sent[10][0] - start == pytest.approx(10 * CHUNK_S - AUDIO_LEAD_S, abs=1e-9)


async def test_a_stall_shorter_than_the_lead_leaves_no_gap() -> None:
    clock = FakeClock()
    out = Recording(clock)
    start = clock.now
    for n in range(10):
        await out.write_chunk(chunk(n))
    clock.now += 0.15  # the event loop was busy elsewhere
    await out.write_chunk(chunk(10))
    # Chunk 10 reached the far end before chunk 9 had finished playing.
    assert out.sent[-1][0] < start + 10 * CHUNK_S


async def test_a_hold_clears_twilio_and_replays_what_it_had_not_played() -> None:
    clock = FakeClock()
    out = Recording(clock)
    for n in range(5):  # all sent at once: 0.2 s of audio queued at Twilio
        await out.write_chunk(chunk(n))
    clock.now += 0.05  # chunk 0 has played, chunk 1 is playing
    await out._hold()
    assert isinstance(out.sent[-1][1], InterruptionFrame)  # Twilio's `clear`
    assert [c.audio[0] for c in out._rewind] == [1, 2, 3, 4]
