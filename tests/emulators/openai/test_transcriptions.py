"""The fake OpenAI server's `POST /v1/audio/transcriptions` through the official SDK."""

from __future__ import annotations

import io
import time
import wave
from collections.abc import AsyncIterator
from functools import cache

import httpx
import numpy as np
import openai
import pytest

from dentalvoice.callers.audio import float_to_pcm, resample
from dentalvoice.emulators.openai import (
    EchoPolicy,
    FakeOpenAI,
    Fault,
    create_app,
    serve_fake_openai,
)
from dentalvoice.voice import models
from tests.callers.speech import similarity

LINE = "I would like to book a cleaning next week."
AUTH = {"Authorization": "Bearer test"}


@cache
def speech_wav(text: str, rate: int) -> bytes:
    """`text` in Piper's voice as a 16-bit mono WAV at `rate`."""
    voice = models.piper()
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
    pcm = float_to_pcm(resample(audio, voice.config.sample_rate, rate))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype("<i2").tobytes())
    return out.getvalue()


def words(text: str) -> set[str]:
    return {w.strip(".,?!").lower() for w in text.split()}


@pytest.fixture
def app() -> FakeOpenAI:
    return create_app(EchoPolicy(), api_key="test")


@pytest.fixture
async def base_url(app: FakeOpenAI) -> AsyncIterator[str]:
    async with serve_fake_openai(app) as url:
        yield url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    # A long budget: the emulator transcribes on this machine's CPU, shared with the test run.
    sdk = openai.AsyncOpenAI(api_key="test", base_url=base_url, max_retries=1, timeout=30.0)
    try:
        yield sdk
    finally:
        await sdk.close()


@pytest.mark.parametrize("rate", [16_000, 8_000])
async def test_real_speech_is_transcribed(
    client: openai.AsyncOpenAI, app: FakeOpenAI, rate: int
) -> None:
    result = await client.audio.transcriptions.create(
        file=("audio.wav", speech_wav(LINE, rate), "audio/wav"), model="whisper-1", language="en"
    )

    assert similarity(result.text, LINE) > 0.8
    (seen,) = app.transcriptions
    assert (seen.model, seen.language, seen.sample_rate, seen.channels) == (
        "whisper-1",
        "en",
        rate,
        1,
    )
    assert 1.5 < seen.duration_s < 6
    assert app.transcripts == [result.text]


async def test_text_and_verbose_formats(client: openai.AsyncOpenAI) -> None:
    upload = ("audio.wav", speech_wav("Yes, please.", 16_000), "audio/wav")

    text = await client.audio.transcriptions.create(
        file=upload, model="whisper-1", response_format="text"
    )
    verbose = await client.audio.transcriptions.create(
        file=upload, model="whisper-1", response_format="verbose_json"
    )

    assert "yes" in words(text)
    assert "yes" in words(verbose.text)
    assert verbose.duration > 0.5


async def test_a_file_that_is_not_wav_is_a_bad_request(
    client: openai.AsyncOpenAI, app: FakeOpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.audio.transcriptions.create(
            file=("audio.mp3", b"ID3 not really audio", "audio/mpeg"), model="whisper-1"
        )

    assert "Invalid file format" in info.value.message
    assert app.transcriptions == []


async def test_missing_fields_and_auth(app: FakeOpenAI) -> None:
    wav = speech_wav("Yes.", 16_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fake"
    ) as http:
        no_file = await http.post(
            "/v1/audio/transcriptions", files={"model": (None, b"whisper-1")}, headers=AUTH
        )
        no_model = await http.post(
            "/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, headers=AUTH
        )
        not_a_form = await http.post(
            "/v1/audio/transcriptions", json={"model": "whisper-1"}, headers=AUTH
        )
        no_key = await http.post(
            "/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": wav}
        )

    assert (no_file.status_code, no_file.json()["error"]["param"]) == (400, "file")
    assert (no_model.status_code, no_model.json()["error"]["param"]) == (400, "model")
    assert not_a_form.status_code == 400
    assert no_key.status_code == 401
    assert app.transcriptions == []


async def test_a_server_error_is_retried_once(client: openai.AsyncOpenAI, app: FakeOpenAI) -> None:
    app.transcription_fault, app.transcription_fault_times = Fault.SERVER_ERROR, 1

    result = await client.audio.transcriptions.create(
        file=("audio.wav", speech_wav("Yes, please.", 16_000), "audio/wav"), model="whisper-1"
    )

    assert "yes" in words(result.text)
    assert len(app.transcriptions) == 2


async def test_a_hang_times_out_after_one_retry(base_url: str, app: FakeOpenAI) -> None:
    app.transcription_fault = Fault.HANG
    async with openai.AsyncOpenAI(
        api_key="test", base_url=base_url, max_retries=1, timeout=0.3
    ) as sdk:
        with pytest.raises(openai.APITimeoutError):
            await sdk.audio.transcriptions.create(
                file=("audio.wav", speech_wav("Yes.", 16_000), "audio/wav"), model="whisper-1"
            )

    assert len(app.transcriptions) == 2


async def test_added_latency(client: openai.AsyncOpenAI, app: FakeOpenAI) -> None:
    upload = ("audio.wav", speech_wav("Yes.", 16_000), "audio/wav")
    app.transcription_delay_s = 0.3

    started = time.monotonic()
    await client.audio.transcriptions.create(file=upload, model="whisper-1")

    assert time.monotonic() - started >= 0.3
