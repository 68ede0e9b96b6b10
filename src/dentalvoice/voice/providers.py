"""Which speech services a call uses, chosen by settings: local models by default, or cloud.

A `SpeechProviders` builds a fresh STT and TTS processor for each call (Pipecat processors hold
per-call state); the heavy parts (local model weights, HTTP clients) are shared by the process.
Benchmarks and tests pass their own `SpeechProviders` to the handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pipecat.processors.frame_processor import FrameProcessor

from dentalvoice.config import Settings


@dataclass(frozen=True, slots=True)
class SpeechProviders:
    """Factories of one call's speech-to-text and text-to-speech processors."""

    stt: Callable[[], FrameProcessor]
    tts: Callable[[], FrameProcessor]
    name: str = "custom"
    # Blocking work worth doing before the first call (pre-synthesising fixed prompts).
    prepare: Callable[[], object] | None = None
    # Releases what the factories share (cloud clients' connections); None: nothing to release.
    close: Callable[[], Awaitable[None]] | None = None

    async def warm_up(self) -> None:
        """Build one of each now (in a thread), so the first call pays no model load."""
        await asyncio.to_thread(self.stt)
        await asyncio.to_thread(self.tts)
        if self.prepare is not None:
            await asyncio.to_thread(self.prepare)

    async def aclose(self) -> None:
        """Close the shared clients (at process shutdown; the factories must not be used after)."""
        if self.close is not None:
            await self.close()


def speech_providers(settings: Settings) -> SpeechProviders:
    """The providers `settings` asks for (`STT_PROVIDER`, `TTS_PROVIDER`).

    Args:
        settings: The process settings.

    Returns:
        Factories for the call's STT and TTS services.
    """
    stt = _openai_stt(settings) if settings.stt_provider == "openai" else _local_stt(settings)
    tts = _polly_tts(settings) if settings.tts_provider == "polly" else _local_tts(settings)
    closers = [half.close for half in (stt, tts) if half.close is not None]

    async def close() -> None:
        for closer in closers:
            await closer()

    local = settings.stt_provider == "local" and settings.tts_provider == "local"
    return SpeechProviders(
        stt=stt.factory,
        tts=tts.factory,
        name="local" if local else f"{settings.stt_provider}+{settings.tts_provider}",
        prepare=tts.prepare,
        close=close if closers else None,
    )


@dataclass(frozen=True, slots=True)
class _Half:
    """One direction's factory, with what it shares across calls."""

    factory: Callable[[], FrameProcessor]
    prepare: Callable[[], object] | None = None
    close: Callable[[], Awaitable[None]] | None = None


def _local_stt(settings: Settings) -> _Half:
    from dentalvoice.voice.services import LocalWhisperSTT

    def stt() -> FrameProcessor:
        return LocalWhisperSTT(model=settings.stt_model, window_s=settings.stt_window_s)

    return _Half(stt)


def _local_tts(settings: Settings) -> _Half:
    from dentalvoice.conversation.script import load_script
    from dentalvoice.voice.services import LocalPiperTTS, presynthesize
    from dentalvoice.voice.speech_cache import cache_for, fixed_sentences

    voice = settings.tts_voice
    cache = cache_for(voice)

    def tts() -> FrameProcessor:
        return LocalPiperTTS(voice=voice, cache=cache)

    def prepare() -> int:
        return presynthesize(cache=cache, texts=fixed_sentences(load_script()), voice=voice)

    return _Half(tts, prepare=prepare)


def _openai_stt(settings: Settings) -> _Half:
    from dentalvoice.voice.cloud import (
        OPENAI_DEFAULT_STT_MODEL,
        OpenAIConnection,
        OpenAIWhisperSTT,
    )

    # The settings validator refuses STT_PROVIDER=openai without a key.
    assert settings.openai_api_key is not None
    connection = OpenAIConnection.create(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout_s=settings.stt_timeout_s,
    )
    model = settings.stt_model or OPENAI_DEFAULT_STT_MODEL

    def stt() -> FrameProcessor:
        return OpenAIWhisperSTT(connection=connection, model=model)

    return _Half(stt, close=connection.aclose)


def _polly_tts(settings: Settings) -> _Half:
    from dentalvoice.voice.cloud import POLLY_DEFAULT_VOICE, PollyClient, PollyTTS

    client = PollyClient(
        region=settings.aws_region or "us-east-1",
        endpoint_url=str(settings.polly_endpoint_url) if settings.polly_endpoint_url else None,
        timeout_s=settings.tts_timeout_s,
    )
    voice = settings.tts_voice or POLLY_DEFAULT_VOICE

    def tts() -> FrameProcessor:
        return PollyTTS(client=client, voice=voice)

    return _Half(tts, close=client.aclose)
