"""The fake Polly through the real boto3 client: PCM audio of the right length, Polly's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3
import botocore.exceptions
import httpx
import numpy as np
import pytest
from botocore.config import Config

from dentalvoice.emulators.polly import FakePolly, Fault, create_app, serve_fake_polly

ACCESS_KEY = "AKIDEMULATOR"
GREETING = "Hello, this is Bright Smile Dental. Is now a good time to talk?"
SIGNED = {
    "Authorization": (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/polly/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0123"
    )
}


@pytest.fixture
def app() -> FakePolly:
    return create_app(access_key_id=ACCESS_KEY)


@pytest.fixture
async def endpoint(app: FakePolly) -> AsyncIterator[str]:
    async with serve_fake_polly(app) as url:
        yield url


Synthesize = Callable[..., Any]


@pytest.fixture
def synthesize(endpoint: str) -> Synthesize:
    """Call SynthesizeSpeech with boto3 in a worker thread (the emulator runs in this loop)."""
    client = boto3.client(
        "polly",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key="emulator-secret",
        config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
    )

    async def call(**request: Any) -> dict[str, Any]:
        def blocking() -> dict[str, Any]:
            response = client.synthesize_speech(**request)
            response["audio"] = response["AudioStream"].read()
            return response

        return await asyncio.to_thread(blocking)

    return call


def seconds(pcm: bytes, rate: int) -> float:
    return len(pcm) / 2 / rate


def voiced_share(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.mean(np.abs(samples) > 1000))


async def test_pcm_at_the_requested_rate(synthesize: Synthesize, app: FakePolly) -> None:
    at_16k = await synthesize(
        Text=GREETING, VoiceId="Joanna", OutputFormat="pcm", SampleRate="16000", Engine="neural"
    )
    at_8k = await synthesize(Text=GREETING, VoiceId="Joanna", OutputFormat="pcm", SampleRate="8000")

    assert at_16k["ContentType"] == "audio/pcm"
    assert at_16k["RequestCharacters"] == len(GREETING)
    # About a dozen words: a few seconds of speech at either rate (Piper's timing varies a
    # little from one synthesis to the next).
    assert 2.0 < seconds(at_16k["audio"], 16_000) < 8.0
    assert seconds(at_8k["audio"], 8_000) == pytest.approx(seconds(at_16k["audio"], 16_000), 0.2)
    assert voiced_share(at_16k["audio"]) > 0.2
    first, second = app.requests
    assert (first.request.sample_rate, first.request.engine) == (16_000, "neural")
    assert (second.request.sample_rate, second.request.engine) == (8_000, "standard")
    assert (first.region, first.access_key_id) == ("eu-west-1", ACCESS_KEY)


async def test_ssml_is_spoken_without_its_tags(synthesize: Synthesize, app: FakePolly) -> None:
    ssml = "<speak><lang xml:lang='en-US'>Thanks &amp; goodbye.</lang></speak>"

    response = await synthesize(Text=ssml, TextType="ssml", VoiceId="Matthew", OutputFormat="pcm")

    assert response["RequestCharacters"] == len("Thanks & goodbye.")
    assert seconds(response["audio"], 16_000) > 0.5
    assert app.requests[0].request.words == "Thanks & goodbye."


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"VoiceId": "Bob"}, "ValidationException"),
        ({"OutputFormat": "wav"}, "ValidationException"),
        ({"Engine": "turbo"}, "ValidationException"),
        ({"OutputFormat": "mp3"}, "ValidationException"),
        ({"SampleRate": "22050"}, "InvalidSampleRateException"),
        ({"Text": "<speak>unclosed", "TextType": "ssml"}, "InvalidSsmlException"),
        ({"Text": "word " * 700}, "TextLengthExceededException"),
        ({"LexiconNames": ["dental"]}, "LexiconNotFoundException"),
    ],
)
async def test_polly_errors_reach_boto3(
    synthesize: Synthesize, app: FakePolly, request_: dict[str, Any], code: str
) -> None:
    request = {"Text": "Hello.", "VoiceId": "Joanna", "OutputFormat": "pcm", **request_}

    with pytest.raises(botocore.exceptions.ClientError) as info:
        await synthesize(**request)

    assert info.value.response["Error"]["Code"] == code
    assert app.requests == []


async def test_a_bad_voice_names_the_member_and_the_allowed_values(synthesize: Synthesize) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        await synthesize(Text="Hi.", VoiceId="Bob", OutputFormat="pcm")

    message = info.value.response["Error"]["Message"]
    assert message.startswith("1 validation error detected: Value 'Bob' at 'voiceId'")
    assert "Joanna" in message
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


async def test_missing_text_is_refused_by_boto3_and_by_the_emulator(
    synthesize: Synthesize, app: FakePolly
) -> None:
    with pytest.raises(botocore.exceptions.ParamValidationError):
        await synthesize(VoiceId="Joanna", OutputFormat="pcm")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        response = await http.post(
            "http://polly/v1/speech", json={"VoiceId": "Joanna"}, headers=SIGNED
        )

    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"
    assert response.json()["message"] == (
        "2 validation errors detected: Value null at 'text' failed to satisfy constraint: "
        "Member must not be null; Value null at 'outputFormat' failed to satisfy constraint: "
        "Member must not be null"
    )


async def test_requests_must_be_signed_for_polly_with_the_known_key(app: FakePolly) -> None:
    body = {"Text": "Hi.", "VoiceId": "Joanna", "OutputFormat": "pcm"}
    other_key = {"Authorization": SIGNED["Authorization"].replace(ACCESS_KEY, "AKIDOTHER")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        unsigned = await http.post("http://polly/v1/speech", json=body)
        wrong_key = await http.post("http://polly/v1/speech", json=body, headers=other_key)
        not_json = await http.post("http://polly/v1/speech", content=b"{", headers=SIGNED)
        elsewhere = await http.post("http://polly/v1/voices", json=body, headers=SIGNED)

    assert (unsigned.status_code, unsigned.headers["x-amzn-errortype"]) == (
        403,
        "MissingAuthenticationTokenException",
    )
    assert wrong_key.headers["x-amzn-errortype"] == "UnrecognizedClientException"
    assert not_json.headers["x-amzn-errortype"] == "SerializationException"
    assert elsewhere.status_code == 404


async def test_a_service_failure_is_retried_by_the_sdk(
    synthesize: Synthesize, app: FakePolly
) -> None:
    app.inject(Fault.SERVICE_FAILURE, times=1)

    response = await synthesize(Text="Hello.", VoiceId="Joanna", OutputFormat="pcm")

    assert len(response["audio"]) > 0
    assert len(app.requests) == 2


async def test_throttling_past_the_retry_budget_is_an_error(
    synthesize: Synthesize, app: FakePolly
) -> None:
    app.inject(Fault.THROTTLING)

    with pytest.raises(botocore.exceptions.ClientError) as info:
        await synthesize(Text="Hello.", VoiceId="Joanna", OutputFormat="pcm")

    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(app.requests) == 2


async def test_first_byte_delay_is_added(synthesize: Synthesize, app: FakePolly) -> None:
    app.first_byte_delay_s = 0.3
    loop = asyncio.get_running_loop()
    started = loop.time()

    await synthesize(Text="Hi.", VoiceId="Joanna", OutputFormat="pcm")

    assert loop.time() - started >= 0.3
