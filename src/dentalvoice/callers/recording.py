"""Both sides of a simulated call, with their times, written out as a stereo WAV.

The caller's speech and the agent audio it heard are kept as μ-law pieces stamped with the
monotonic time they started; `write_stereo_wav` lays them on one timeline (left = caller,
right = agent) so a listener hears the overlaps and gaps as they happened.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dentalvoice.callers.audio import PHONE_RATE, Int16Array, ulaw_decode


@dataclass(frozen=True, slots=True)
class Piece:
    """Audio that started playing at `at` (monotonic seconds)."""

    at: float
    audio: bytes  # 8 kHz μ-law

    @property
    def end_at(self) -> float:
        """When it finished playing."""
        return self.at + len(self.audio) / PHONE_RATE


@dataclass
class CallRecording:
    """The caller's speech and the agent's audio, each piece with its start time."""

    caller: list[Piece] = field(default_factory=list)
    agent: list[Piece] = field(default_factory=list)

    def add_caller(self, at: float, audio: bytes) -> None:
        """Keep caller speech whose first frame was sent at `at`."""
        if audio:
            self.caller.append(Piece(at, audio))

    def add_agent(self, at: float, audio: bytes) -> None:
        """Keep agent audio that started playing at `at`."""
        if audio:
            self.agent.append(Piece(at, audio))

    @property
    def start_at(self) -> float | None:
        """When the first piece on either side started; None for an empty recording."""
        starts = [p.at for p in (*self.caller[:1], *self.agent[:1])]
        return min(starts) if starts else None

    def stereo(self) -> Int16Array:
        """16-bit PCM, shape (samples, 2): caller left, agent right, from `start_at`."""
        origin = self.start_at
        if origin is None:
            return np.zeros((0, 2), dtype=np.int16)
        end = max(p.end_at for p in (*self.caller, *self.agent))
        out = np.zeros((round((end - origin) * PHONE_RATE) + 1, 2), dtype=np.int16)
        for channel, pieces in enumerate((self.caller, self.agent)):
            for piece in pieces:
                start = round((piece.at - origin) * PHONE_RATE)
                pcm = ulaw_decode(piece.audio)[: out.shape[0] - start]
                out[start : start + pcm.shape[0], channel] = pcm
        return out

    def write_stereo_wav(self, path: str | Path) -> Path:
        """Write `stereo()` as an 8 kHz 16-bit stereo WAV file.

        Returns:
            The path written.
        """
        target = Path(path)
        frames = self.stereo()
        with wave.open(str(target), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(PHONE_RATE)
            wav.writeframes(frames.astype("<i2").tobytes())
        return target
