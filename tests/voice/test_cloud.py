"""The cloud speech services in a small Pipecat pipeline, against the OpenAI and Polly emulators.

Each test runs the service the settings choose inside Pipecat's own test pipeline (`run_test`:
source → service → sink, then an `EndFrame`), so the frames in and out are what a call's
pipeline sees. The audio is real: Piper speech in, Whisper text out, and Piper speech back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.task import PipelineParams
from pipecat.tests.utils import run_test

from dentalvoice.callers.audio import float_to_pcm, resample
from dentalvoice.config import Settings, load_settings
from dentalvoice.emulators import polly
from dentalvoice.emulators.openai import EchoPolicy, FakeOpenAI, Fault, serve_fake_openai
from dentalvoice.emulators.openai import create_app as fake_openai
from dentalvoice.voice import models
from dentalvoice.voice.providers import speech_providers
from tests.callers.speech import similarity

API_KEY = "sk-emulator"
ACCESS_KEY = "AKIDEMULATOR"
LINE = "I would like to book a cleaning next week."
GREETING = "Hi, this is the assistant at Bright Smile Dental."
WAIT_S = 120.0
FRAME_S = 0.02


def settings(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


def speech_frames(text: str, rate: int) -> list[Frame]:
    """`text` in Piper's voice as 20 ms input frames, between the VAD's start and stop."""
    voice = models.piper()
    audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
    pcm = float_to_pcm(resample(audio, voice.config.sample_rate, rate)).astype("<i2").tobytes()
    step = int(rate * FRAME_S) * 2
    chunks = [pcm[i : i + step] for i in range(0, len(pcm), step)]
    audio_frames = [InputAudioRawFrame(audio=c, sample_rate=rate, num_channels=1) for c in chunks]
    return [VADUserStartedSpeakingFrame(), *audio_frames, VADUserStoppedSpeakingFrame()]


@pytest.fixture
def openai_app() -> FakeOpenAI:
    return fake_openai(EchoPolicy(), api_key=API_KEY)


@pytest.fixture
async def openai_url(openai_app: FakeOpenAI) -> AsyncIterator[str]:
    async with serve_fake_openai(openai_app) as url:
        yield url


@pytest.fixture
def polly_app(monkeypatch: pytest.MonkeyPatch) -> polly.FakePolly:
    # Credentials the usual way: botocore's chain finds them in the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return polly.create_app(access_key_id=ACCESS_KEY)


@pytest.fixture
async def polly_url(polly_app: polly.FakePolly) -> AsyncIterator[str]:
    async with polly.serve_fake_polly(polly_app) as url:
        yield url


@pytest.mark.parametrize("rate", [16_000, 8_000])
async def test_openai_stt_transcribes_an_utterance(
    openai_app: FakeOpenAI, openai_url: str, rate: int
) -> None:
    providers = speech_providers(
        settings(
            stt_provider="openai",
            openai_api_key=API_KEY,
            openai_base_url=openai_url,
            # The emulator transcribes on this machine's CPU, shared with the test run.
            stt_timeout_s=30,
        )
    )
    try:
        async with asyncio.timeout(WAIT_S):
            down, up = await run_test(
                providers.stt(),
                frames_to_send=speech_frames(LINE, rate),
                pipeline_params=PipelineParams(audio_in_sample_rate=rate),
            )
    finally:
        await providers.aclose()

    (transcript,) = [f for f in down if isinstance(f, TranscriptionFrame)]
    assert similarity(transcript.text, LINE) > 0.8
    assert transcript.finalized
    assert not [f for f in up if isinstance(f, ErrorFrame)]
    # The upload is a 16 kHz WAV whatever the pipeline's input rate.
    (upload,) = openai_app.transcriptions
    assert (upload.model, upload.sample_rate, upload.channels) == ("whisper-1", 16_000, 1)


@pytest.mark.parametrize(
    ("out_rate", "polly_rate"), [(8_000, 8_000), (16_000, 16_000), (24_000, 16_000)]
)
async def test_polly_tts_speaks_a_sentence(
    polly_app: polly.FakePolly, polly_url: str, out_rate: int, polly_rate: int
) -> None:
    providers = speech_providers(
        settings(tts_provider="polly", polly_endpoint_url=polly_url, aws_region="us-west-2")
    )
    try:
        async with asyncio.timeout(WAIT_S):
            down, up = await run_test(
                providers.tts(),
                frames_to_send=[TTSSpeakFrame(GREETING)],
                pipeline_params=PipelineParams(audio_out_sample_rate=out_rate),
            )
    finally:
        await providers.aclose()

    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio
    assert {(f.sample_rate, f.num_channels) for f in audio} == {(out_rate, 1)}
    spoken_s = sum(len(f.audio) for f in audio) / 2 / out_rate
    assert 1.5 < spoken_s < 8.0
    assert not [f for f in up if isinstance(f, ErrorFrame)]
    (received,) = polly_app.requests
    request = received.request
    assert (request.voice_id, request.engine, request.output_format) == ("Joanna", "neural", "pcm")
    assert (request.sample_rate, request.text_type, request.words) == (polly_rate, "ssml", GREETING)
    assert (received.region, received.access_key_id) == ("us-west-2", ACCESS_KEY)


async def test_a_polly_refusal_is_an_error_frame_without_the_text(
    polly_app: polly.FakePolly, polly_url: str
) -> None:
    providers = speech_providers(
        settings(tts_provider="polly", polly_endpoint_url=polly_url, tts_voice="Bob")
    )
    try:
        async with asyncio.timeout(WAIT_S):
            down, up = await run_test(
                providers.tts(),
                frames_to_send=[TTSSpeakFrame("Mrs Jane Doe, your appointment is confirmed.")],
            )
    finally:
        await providers.aclose()

    errors = [f.error for f in up if isinstance(f, ErrorFrame)]
    assert "Polly refused the synthesis: ValidationException" in errors
    assert not [e for e in errors if "Jane" in e]
    assert not [f for f in down if isinstance(f, TTSAudioRawFrame)]


async def test_a_hung_transcription_gives_up_after_one_retry(
    openai_app: FakeOpenAI, openai_url: str
) -> None:
    openai_app.transcription_fault = Fault.HANG
    providers = speech_providers(
        settings(
            stt_provider="openai",
            openai_api_key=API_KEY,
            openai_base_url=openai_url,
            stt_timeout_s=0.5,
        )
    )
    try:
        async with asyncio.timeout(WAIT_S):
            down, up = await run_test(
                providers.stt(),
                frames_to_send=speech_frames("Yes.", 16_000),
                pipeline_params=PipelineParams(audio_in_sample_rate=16_000),
            )
    finally:
        await providers.aclose()

    assert not [f for f in down if isinstance(f, TranscriptionFrame)]
    assert [f for f in up if isinstance(f, ErrorFrame)]
    assert len(openai_app.transcriptions) == 2


async def test_a_hung_synthesis_gives_up_after_one_retry(
    polly_app: polly.FakePolly, polly_url: str
) -> None:
    polly_app.inject(polly.Fault.HANG)
    providers = speech_providers(
        settings(tts_provider="polly", polly_endpoint_url=polly_url, tts_timeout_s=0.5)
    )
    try:
        async with asyncio.timeout(WAIT_S):
            down, up = await run_test(providers.tts(), frames_to_send=[TTSSpeakFrame("Hello.")])
    finally:
        await providers.aclose()

    errors = [f.error for f in up if isinstance(f, ErrorFrame)]
    assert "Polly failed: ReadTimeoutError" in errors
    assert not [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert len(polly_app.requests) == 2
