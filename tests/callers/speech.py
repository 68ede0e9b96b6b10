"""Test helpers: the agent's voice, pitch and brightness estimates, fuzzy text matching."""

from __future__ import annotations

import difflib
import re
from functools import cache

import numpy as np

from dentalvoice.callers.audio import (
    PHONE_RATE,
    float_to_pcm,
    pcm_to_float,
    resample,
    ulaw_decode,
    ulaw_encode,
)
from dentalvoice.voice import models


@cache
def agent_speech(text: str) -> bytes:
    """The text in the agent's voice (stock Piper joe-medium), as 8 kHz μ-law."""
    voice = models.piper()
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
    return ulaw_encode(float_to_pcm(resample(audio, voice.config.sample_rate, PHONE_RATE)))


def pitch_hz(ulaw: bytes) -> float:
    """Median fundamental frequency of the voiced 40 ms windows (autocorrelation, 60-400 Hz)."""
    signal = pcm_to_float(ulaw_decode(ulaw)).astype(np.float64)
    lo, hi = PHONE_RATE // 400, PHONE_RATE // 60
    estimates = []
    for start in range(0, signal.size - 320, 160):
        window = signal[start : start + 320]
        if np.sqrt(np.mean(window**2)) < 0.05:
            continue
        window = window - window.mean()
        corr = np.correlate(window, window, "full")[319:]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] > 0.3 * corr[0]:
            estimates.append(PHONE_RATE / lag)
    assert len(estimates) > 10, "too little voiced audio to estimate a pitch"
    return float(np.median(estimates))


def spectral_centroid_hz(ulaw: bytes) -> float:
    """Where the spectrum's energy sits on average."""
    magnitude = np.abs(np.fft.rfft(pcm_to_float(ulaw_decode(ulaw))))
    freqs = np.fft.rfftfreq((magnitude.size - 1) * 2, 1 / PHONE_RATE)
    return float((magnitude * freqs).sum() / magnitude.sum())


def words(text: str) -> str:
    """Lower-case words only, digits spelled as Whisper may write them left alone."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def similarity(a: str, b: str) -> float:
    """0..1 likeness of two texts' words (difflib ratio on the normalised strings)."""
    return difflib.SequenceMatcher(None, words(a), words(b)).ratio()
