"""The simulated caller's voice: the shared Piper model, made to sound like someone else.

The agent speaks with Piper's `en_US-joe-medium` at its stock settings. The caller uses the
same model (loaded once per process, `dentalvoice.voice.models`) with slower, looser synthesis
and its pitch raised by resampling, so a listener — or a pitch estimate — tells the two apart,
and a recording of a call is easy to follow. Resampling up in pitch also shortens the audio;
the larger `length_scale` gives that time back.

Piper pads each sentence with quiet; the caller's audio is trimmed to its voiced part, so
that the moment its last frame is sent is the moment its speech ended — the start of the
agent's voice-to-voice time.

Synthesis is CPU work (about 0.1 s per second of speech on the project machine), so `speak`
runs it in a thread; lines a scenario repeats come from a small LRU cache.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from dentalvoice.callers.audio import (
    FRAME_BYTES,
    PHONE_RATE,
    Int16Array,
    dbfs,
    float_to_pcm,
    resample,
    ulaw_encode,
)

# Frames quieter than this at either end of an utterance are cut; one is kept as a margin.
_QUIET_DBFS = -50.0


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How the caller's voice differs from the agent's.

    Attributes:
        length_scale: Piper phoneme length (>1 slower); the agent uses 1.0.
        noise_scale: Piper generator noise; the agent's voice config uses 0.667.
        noise_w_scale: Piper phoneme-width noise; the agent's voice config uses 0.8.
        pitch_factor: Pitch (and formants) raised by this factor through resampling.
        volume: Peak level, 0..1 of full scale.
    """

    length_scale: float = 1.2
    noise_scale: float = 0.75
    noise_w_scale: float = 0.9
    pitch_factor: float = 1.18
    volume: float = 0.8

    def __post_init__(self) -> None:
        """Refuse settings that cannot produce audio."""
        if self.length_scale <= 0 or self.pitch_factor <= 0:
            raise ValueError("length_scale and pitch_factor must be positive")
        if not 0 < self.volume <= 1:
            raise ValueError("volume must be in (0, 1]")


def trim_quiet(pcm: Int16Array) -> Int16Array:
    """8 kHz PCM without its quiet 20 ms frames at either end (one kept as a margin)."""
    frames = range(0, pcm.shape[0], FRAME_BYTES)
    loud = [
        i for i, start in enumerate(frames) if dbfs(pcm[start : start + FRAME_BYTES]) > _QUIET_DBFS
    ]
    if not loud:
        return pcm[:0]
    first = max(loud[0] - 1, 0) * FRAME_BYTES
    last = (loud[-1] + 2) * FRAME_BYTES
    return pcm[first:last]


class CallerVoice:
    """Text to 8 kHz μ-law in the caller's voice, cached per text.

    Args:
        settings: The voice's difference from the agent's.
        voice: A loaded `PiperVoice`; None uses the process's shared one on first use.
        cache_size: Distinct texts kept (least recently used dropped first); 0 disables.
    """

    def __init__(
        self,
        settings: VoiceSettings | None = None,
        *,
        voice: Any | None = None,
        cache_size: int = 64,
    ) -> None:
        self.settings = settings or VoiceSettings()
        self._voice = voice
        self._cache_size = cache_size
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        # synthesize() runs in worker threads; the cache is shared between them.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def synthesize(self, text: str) -> bytes:
        """The text spoken in the caller's voice, as 8 kHz μ-law (blocking; see `speak`).

        Args:
            text: What to say; empty text gives empty audio.

        Returns:
            μ-law bytes, no header.
        """
        key = text.strip()
        if not key:
            return b""
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return cached
            self.misses += 1
        audio = self._render(key)
        if self._cache_size > 0:
            with self._lock:
                self._cache[key] = audio
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return audio

    def warm_up(self) -> None:
        """Load the model and run it once (blocking), outside the cache."""
        self._render("Hello.")

    async def speak(self, text: str) -> bytes:
        """`synthesize` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.synthesize, text)

    def _render(self, text: str) -> bytes:
        from piper import SynthesisConfig

        voice = self._piper()
        s = self.settings
        config = SynthesisConfig(
            length_scale=s.length_scale,
            noise_scale=s.noise_scale,
            noise_w_scale=s.noise_w_scale,
            volume=s.volume,
        )
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, config)]
        if not chunks:
            return b""
        audio = np.concatenate(chunks)
        rate = float(voice.config.sample_rate)
        # Taking the samples to be faster than they are raises every frequency by the factor.
        phone = float_to_pcm(resample(audio, rate * s.pitch_factor, PHONE_RATE))
        return ulaw_encode(trim_quiet(phone))

    def _piper(self) -> Any:
        if self._voice is None:
            from dentalvoice.voice import models

            self._voice = models.piper()
        return self._voice
