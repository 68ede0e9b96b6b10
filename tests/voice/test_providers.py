"""Which speech services the settings choose, and the settings they refuse."""

from __future__ import annotations

import openai
import pytest

from dentalvoice.config import ConfigurationError, Settings, load_settings
from dentalvoice.voice.cloud import OpenAIWhisperSTT, PollyTTS
from dentalvoice.voice.providers import speech_providers
from dentalvoice.voice.services import LocalPiperTTS, LocalWhisperSTT


def settings(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


def test_local_by_default() -> None:
    providers = speech_providers(settings())

    assert providers.name == "local"
    assert isinstance(providers.stt(), LocalWhisperSTT)
    assert isinstance(providers.tts(), LocalPiperTTS)
    assert providers.close is None


async def test_openai_stt_on_the_configured_server_with_a_short_budget() -> None:
    providers = speech_providers(
        settings(
            stt_provider="openai",
            openai_api_key="sk-test",
            openai_base_url="http://127.0.0.1:9/v1",
            stt_timeout_s=3.0,
        )
    )
    try:
        stt = providers.stt()
        assert isinstance(stt, OpenAIWhisperSTT)
        assert providers.name == "openai+local"
        assert isinstance(providers.tts(), LocalPiperTTS)
        client = stt._client
        assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9/v1"
        assert client.max_retries == 1
        assert isinstance(client.timeout, openai.Timeout)
        assert client.timeout.read == 3.0
        assert stt._settings.model == "whisper-1"
        # Every call's service shares the process's client (and so its connections).
        assert providers.stt()._client is client
    finally:
        await providers.aclose()


async def test_openai_stt_model_from_settings() -> None:
    providers = speech_providers(
        settings(stt_provider="openai", openai_api_key="sk-test", stt_model="gpt-4o-transcribe")
    )
    try:
        stt = providers.stt()
        assert isinstance(stt, OpenAIWhisperSTT)
        assert stt._settings.model == "gpt-4o-transcribe"
    finally:
        await providers.aclose()


async def test_polly_tts_neural_at_the_configured_endpoint() -> None:
    providers = speech_providers(
        settings(
            tts_provider="polly",
            aws_region="eu-west-2",
            polly_endpoint_url="http://127.0.0.1:9",
            tts_voice="Matthew",
        )
    )
    try:
        tts = providers.tts()
        assert isinstance(tts, PollyTTS)
        assert providers.name == "local+polly"
        assert isinstance(providers.stt(), LocalWhisperSTT)
        assert tts._settings.voice == "Matthew"
        assert tts._settings.engine == "neural"
        assert tts._polly.region == "eu-west-2"
        assert tts._polly.endpoint_url == "http://127.0.0.1:9/"
        assert providers.tts()._polly is tts._polly
    finally:
        await providers.aclose()


async def test_polly_defaults_to_joanna_in_us_east_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    providers = speech_providers(settings(tts_provider="polly"))
    try:
        tts = providers.tts()
        assert isinstance(tts, PollyTTS)
        assert (tts._settings.voice, tts._polly.region) == ("Joanna", "us-east-1")
        assert tts._polly.endpoint_url is None
    finally:
        await providers.aclose()


def test_aws_region_from_the_usual_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert settings().aws_region == "ap-southeast-2"
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert settings().aws_region == "ca-central-1"


def test_openai_stt_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("STT_PROVIDER", "openai")

    with pytest.raises(ConfigurationError, match="STT_PROVIDER=openai needs OPENAI_API_KEY"):
        load_settings(_env_file=None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STT_PROVIDER", "deepgram"),
        ("TTS_PROVIDER", "elevenlabs"),
        ("POLLY_ENDPOINT_URL", "not a url"),
        ("STT_TIMEOUT_S", "0"),
        ("TTS_TIMEOUT_S", "120"),
    ],
)
def test_a_bad_provider_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=f"^invalid {name}:"):
        load_settings(_env_file=None)
