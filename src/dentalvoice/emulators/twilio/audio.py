"""Synthetic 8 kHz μ-law audio for simulated callees: silence, tones, a beep, speech-like sound.

G.711 μ-law is encoded here (the stdlib `audioop` is deprecated and gone in 3.13).
"""

from __future__ import annotations

import math
import random
from typing import Final

SAMPLE_RATE: Final = 8000
FRAME_BYTES: Final = 160  # 20 ms at 8 kHz, one byte per sample
FRAME_S: Final = FRAME_BYTES / SAMPLE_RATE
SILENCE_BYTE: Final = 0xFF  # μ-law code of a zero sample

_BIAS = 0x84
_CLIP = 32635


def ulaw_encode_sample(sample: int) -> int:
    """One 16-bit linear PCM sample as a μ-law byte (G.711).

    Args:
        sample: -32768..32767.

    Returns:
        The μ-law code, 0..255.
    """
    sign = 0
    if sample < 0:
        sign, sample = 0x80, -sample
    sample = min(sample, _CLIP) + _BIAS
    exponent = max(sample.bit_length() - 8, 0)
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def ulaw_encode(samples: list[int]) -> bytes:
    """Linear PCM samples as μ-law bytes."""
    return bytes(ulaw_encode_sample(s) for s in samples)


def silence(seconds: float) -> bytes:
    """μ-law silence of the given length."""
    return bytes([SILENCE_BYTE]) * _samples(seconds)


def tone(frequency_hz: float, seconds: float, *, amplitude: float = 0.5) -> bytes:
    """A sine tone.

    Args:
        frequency_hz: Its pitch.
        seconds: Its length.
        amplitude: 0..1 of full scale.

    Returns:
        μ-law bytes.
    """
    peak = amplitude * 32767
    step = 2 * math.pi * frequency_hz / SAMPLE_RATE
    return ulaw_encode([round(peak * math.sin(step * n)) for n in range(_samples(seconds))])


def beep(seconds: float = 0.5) -> bytes:
    """The answering-machine beep: 1 kHz."""
    return tone(1000.0, seconds, amplitude=0.6)


def speech_like(seconds: float, *, seed: int = 7) -> bytes:
    """Voice-band sound with a syllable rhythm, standing in for a recorded greeting.

    Two formant-like tones plus noise whose loudness swells and fades four times a second,
    like syllables, so level-based detectors see speech rather than a constant tone or silence.

    Args:
        seconds: Its length.
        seed: Seeds the noise, so the same call gives the same bytes.

    Returns:
        μ-law bytes.
    """
    rng = random.Random(seed)
    samples = []
    for n in range(_samples(seconds)):
        t = n / SAMPLE_RATE
        envelope = 0.25 + 0.75 * abs(math.sin(2 * math.pi * 2.0 * t))
        voiced = 0.5 * math.sin(2 * math.pi * 220 * t) + 0.3 * math.sin(2 * math.pi * 730 * t)
        value = envelope * (voiced + 0.2 * rng.uniform(-1.0, 1.0))
        samples.append(round(12000 * value))
    return ulaw_encode(samples)


def _samples(seconds: float) -> int:
    return max(0, round(seconds * SAMPLE_RATE))
