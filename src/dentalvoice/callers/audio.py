"""Phone-line audio arithmetic with numpy: G.711 μ-law, PCM scaling, resampling, loudness.

The stdlib `audioop` is deprecated (and gone in 3.13), so μ-law is done with lookup tables and
vectorised bit arithmetic here. Resampling is band-limited through the FFT: whole utterances
are resampled at once, so the periodic-edge artefact of that method falls in the silence that
surrounds speech.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

PHONE_RATE: Final = 8000
WHISPER_RATE: Final = 16000
FRAME_BYTES: Final = 160  # 20 ms at 8 kHz, one byte per sample
FRAME_S: Final = FRAME_BYTES / PHONE_RATE
SILENCE_BYTE: Final = 0xFF  # μ-law code of a zero sample

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float32]

_BIAS: Final = 0x84
_CLIP: Final = 32635


def _decode_table() -> Int16Array:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _exponent_table() -> npt.NDArray[np.int32]:
    # Segment of a biased magnitude (132..32767): its bit length minus 8, at least 0.
    values = np.arange(_CLIP + _BIAS + 1, dtype=np.int64)
    bits = np.zeros(values.shape, dtype=np.int32)
    nonzero = values > 0
    bits[nonzero] = np.floor(np.log2(values[nonzero])).astype(np.int32) + 1
    return np.maximum(bits - 8, 0).astype(np.int32)


_DECODE: Final = _decode_table()
_EXPONENT: Final = _exponent_table()


def ulaw_decode(data: bytes) -> Int16Array:
    """μ-law bytes as 16-bit linear PCM samples (G.711)."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(pcm: npt.ArrayLike) -> bytes:
    """16-bit linear PCM samples (any integer or float array in int16 range) as μ-law bytes.

    Values outside the int16 range are clipped first. Bit-for-bit the same codes as the
    emulator's scalar encoder (`dentalvoice.emulators.twilio.audio.ulaw_encode_sample`).
    """
    samples = np.clip(np.rint(np.asarray(pcm, dtype=np.float64)), -32768, 32767).astype(np.int32)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), _CLIP) + _BIAS
    exponent = _EXPONENT[magnitude]
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    codes = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return bytes(codes.astype(np.uint8).tobytes())


def pcm_to_float(pcm: npt.NDArray[np.integer]) -> FloatArray:
    """16-bit PCM as float32 in [-1, 1)."""
    return (np.asarray(pcm, dtype=np.float32) / 32768.0).astype(np.float32)


def float_to_pcm(audio: npt.NDArray[np.floating]) -> Int16Array:
    """float audio in [-1, 1] as 16-bit PCM, clipped."""
    return np.clip(np.rint(np.asarray(audio) * 32767.0), -32768, 32767).astype(np.int16)


def resample(audio: npt.ArrayLike, src_rate: float, dst_rate: float) -> FloatArray:
    """Band-limited resampling of a whole signal through the FFT.

    Going down, the spectrum above the new Nyquist frequency is dropped (the anti-aliasing
    filter); going up, it is zero-padded. `src_rate` need not be a real device rate: playing a
    22050 Hz signal "as if" it were 26000 Hz is how `dentalvoice.callers.voice` shifts pitch.

    Args:
        audio: Mono samples (float).
        src_rate: Rate the samples are taken to be at.
        dst_rate: Rate wanted.

    Returns:
        float32 samples at `dst_rate`, `round(len * dst_rate / src_rate)` of them.
    """
    signal = np.asarray(audio, dtype=np.float64)
    n = signal.shape[0]
    if n == 0 or src_rate == dst_rate:
        return signal.astype(np.float32)
    m = max(1, round(n * dst_rate / src_rate))
    spectrum = np.fft.rfft(signal)
    out = np.zeros(m // 2 + 1, dtype=np.complex128)
    keep = min(spectrum.shape[0], out.shape[0])
    out[:keep] = spectrum[:keep]
    if m < n and m % 2 == 0:
        # The new Nyquist bin stands for a cosine only; halving it keeps the energy right.
        out[-1] = out[-1].real
    result: FloatArray = (np.fft.irfft(out, m) * (m / n)).astype(np.float32)
    return result


def ulaw_to_whisper(data: bytes) -> FloatArray:
    """8 kHz μ-law as the 16 kHz float32 signal Whisper takes."""
    return resample(pcm_to_float(ulaw_decode(data)), PHONE_RATE, WHISPER_RATE)


def dbfs(pcm: npt.NDArray[np.integer]) -> float:
    """RMS level of 16-bit PCM in dB below full scale (-120 for digital silence)."""
    if pcm.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return max(-120.0, 20.0 * float(np.log10(max(rms, 1e-9) / 32768.0)))


def silence(seconds: float) -> bytes:
    """μ-law silence of the given length."""
    return bytes([SILENCE_BYTE]) * max(0, round(seconds * PHONE_RATE))
