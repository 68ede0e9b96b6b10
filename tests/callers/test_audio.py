"""μ-law, resampling, levels, and the stereo recording: pure numpy, no models."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from dentalvoice.callers import CallRecording
from dentalvoice.callers.audio import (
    dbfs,
    pcm_to_float,
    resample,
    silence,
    ulaw_decode,
    ulaw_encode,
    ulaw_to_whisper,
)
from dentalvoice.emulators.twilio.audio import tone, ulaw_encode_sample


def _sine(freq: float, rate: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(signal: np.ndarray, rate: float) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1 / rate)[np.argmax(spectrum)])


def test_ulaw_encoder_matches_g711_for_every_16_bit_sample() -> None:
    samples = np.arange(-32768, 32768)
    expected = bytes(ulaw_encode_sample(int(s)) for s in samples)
    assert ulaw_encode(samples) == expected


def test_ulaw_round_trip() -> None:
    codes = bytes(range(256))
    # 0x7F is μ-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    assert ulaw_encode(ulaw_decode(codes)) == codes.replace(b"\x7f", b"\xff")
    pcm = np.linspace(-30000, 30000, 4001).astype(np.int16)
    back = ulaw_decode(ulaw_encode(pcm)).astype(np.float64)
    error = np.abs(back - pcm)
    # Logarithmic quantisation: the error grows with the level, about 3 % at worst.
    assert np.all(error <= np.maximum(8, 0.035 * np.abs(pcm)))
    assert ulaw_decode(silence(0.02)).tolist() == [0] * 160


def test_ulaw_encode_clips_out_of_range_values() -> None:
    assert ulaw_encode([40000.0, -40000.0]) == ulaw_encode([32767, -32768])


@pytest.mark.parametrize(("src", "dst"), [(22050, 8000), (8000, 16000), (26019, 8000)])
def test_resample_keeps_a_tone_and_the_duration(src: int, dst: int) -> None:
    out = resample(_sine(440.0, src, 1.0), src, dst)
    assert out.dtype == np.float32
    assert out.size == round(src * 1.0 * dst / src)
    assert abs(_peak_hz(out, dst) - 440.0) < 2.0
    assert abs(np.sqrt(np.mean(out**2)) - 0.5 / np.sqrt(2)) < 0.01


def test_resample_drops_what_the_lower_rate_cannot_hold() -> None:
    # A 6 kHz tone does not exist at 8 kHz: it must vanish, not fold back to 2 kHz.
    out = resample(_sine(6000.0, 22050, 1.0), 22050, 8000)
    assert np.sqrt(np.mean(out**2)) < 0.005


def test_resample_as_pitch_shift() -> None:
    # Taking 22050 Hz samples as if they were 15 % faster raises the tone by 15 %.
    out = resample(_sine(200.0, 22050, 1.0), 22050 * 1.15, 8000)
    assert abs(_peak_hz(out, 8000) - 230.0) < 2.0


def test_ulaw_to_whisper_is_16_khz_float() -> None:
    audio = ulaw_to_whisper(tone(440.0, 0.5))
    assert audio.dtype == np.float32
    assert audio.size == 8000
    assert abs(_peak_hz(audio, 16000) - 440.0) < 3.0
    assert np.max(np.abs(audio)) < 1.0


def test_dbfs() -> None:
    assert dbfs(np.zeros(160, dtype=np.int16)) == -120.0
    full = ulaw_decode(tone(1000.0, 0.1, amplitude=1.0))
    assert -4.0 < dbfs(full) < -2.0  # a full-scale sine is -3 dBFS
    assert dbfs(np.array([], dtype=np.int16)) == -120.0


def test_stereo_wav_puts_each_side_on_its_channel_at_its_time(tmp_path: Path) -> None:
    recording = CallRecording()
    recording.add_agent(100.0, tone(300.0, 0.5))
    recording.add_caller(100.75, tone(600.0, 0.25))
    recording.add_agent(101.0, b"")  # nothing heard: ignored
    path = recording.write_stereo_wav(tmp_path / "call.wav")
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    caller, agent = pcm_to_float(frames[:, 0]), pcm_to_float(frames[:, 1])
    assert frames.shape[0] == pytest.approx(8000, abs=2)
    assert np.abs(agent[:4000]).max() > 0.3 and np.abs(agent[4100:]).max() == 0
    assert np.abs(caller[:6000]).max() == 0 and np.abs(caller[6000:]).max() > 0.3
    assert abs(_peak_hz(caller[6000:], 8000) - 600.0) < 10


def test_empty_recording_writes_an_empty_wav(tmp_path: Path) -> None:
    path = CallRecording().write_stereo_wav(tmp_path / "empty.wav")
    with wave.open(str(path), "rb") as wav:
        assert wav.getnframes() == 0
