"""Cloud speech services: OpenAI's transcription API and Amazon Polly, as Pipecat services.

Pipecat's own services build an SDK client per STT service and a Polly client per sentence,
each with the SDK's default patience (OpenAI: 10 minutes and 2 retries). A caller is waiting,
so these use clients the process shares — connections stay warm from call to call — with a
budget of a few seconds and one retry: transcribing or synthesising the same audio or text
twice has no side effect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import openai
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import ErrorFrame, Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.aws.tts import AWSPollyTTSSettings, language_to_aws_language
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.tts_service import TTSService
from pipecat.transcriptions.language import Language

WHISPER_RATE = 16_000
POLLY_DEFAULT_VOICE = "Joanna"
OPENAI_DEFAULT_STT_MODEL = "whisper-1"
# Polly returns PCM at 8 or 16 kHz only.
POLLY_PCM_RATES = (8_000, 16_000)
# Simultaneous calls each hold at most one synthesis request open.
POLLY_MAX_CONNECTIONS = 50


@dataclass(frozen=True, slots=True)
class OpenAIConnection:
    """The process's OpenAI client for transcriptions and the HTTP pool it sends through."""

    client: openai.AsyncOpenAI
    http: openai.DefaultAsyncHttpxClient

    @classmethod
    def create(
        cls, *, api_key: str, base_url: str | None, timeout_s: float, retries: int = 1
    ) -> OpenAIConnection:
        """A client with a short budget per request and `retries` retries.

        Args:
            api_key: The OpenAI key.
            base_url: An OpenAI-compatible server (the emulator); None for api.openai.com.
            timeout_s: One request's whole budget (connecting takes at most 2 s of it).
            retries: Retries after a timeout, a connection error, a 429 or a 5xx.

        Returns:
            The connection; nothing connects before the first request.
        """
        http = openai.DefaultAsyncHttpxClient()
        client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=openai.Timeout(timeout_s, connect=min(2.0, timeout_s)),
            max_retries=retries,
            http_client=http,
        )
        return cls(client=client, http=http)

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self.client.close()


class OpenAIWhisperSTT(OpenAISTTService):
    """OpenAI's transcription API on a shared client, sent each utterance as 16 kHz WAV.

    Pipecat posts the utterance as a WAV at the service's sample rate; input at another rate
    is resampled to 16 kHz first, the rate Whisper works at.
    """

    def __init__(
        self,
        *,
        connection: OpenAIConnection,
        model: str = OPENAI_DEFAULT_STT_MODEL,
        **kwargs: Any,
    ) -> None:
        """Create the service.

        Args:
            connection: The process's client (see `OpenAIConnection`); not closed here.
            model: The transcription model, e.g. "whisper-1" or "gpt-4o-transcribe".
            **kwargs: Passed to Pipecat's `OpenAISTTService`.
        """
        super().__init__(
            api_key=connection.client.api_key,
            base_url=str(connection.client.base_url),
            # The shared pool: a client of its own would build an SSL context (~100 ms a call).
            http_client=connection.http,
            settings=OpenAISTTService.Settings(model=model, language=Language.EN),
            sample_rate=WHISPER_RATE,
            **kwargs,
        )
        # Pipecat's constructor takes no timeout or retry policy; the shared client has both.
        self._client = connection.client
        self._to_whisper_rate = create_stream_resampler()

    async def process_audio_frame(
        self, frame: InputAudioRawFrame, direction: FrameDirection
    ) -> None:
        """Buffer the frame's audio at 16 kHz."""
        if frame.sample_rate != WHISPER_RATE:
            audio = await self._to_whisper_rate.resample(
                frame.audio, frame.sample_rate, WHISPER_RATE
            )
            frame = InputAudioRawFrame(
                audio=audio, sample_rate=WHISPER_RATE, num_channels=frame.num_channels
            )
        await super().process_audio_frame(frame, direction)


class PollyClient:
    """One Polly client for the process, opened on first use (in the event loop) until `aclose`.

    Credentials come from botocore's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
    AWS_PROFILE, an instance or task role), resolved once by the shared session.
    """

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None = None,
        timeout_s: float = 5.0,
        session: AioSession | None = None,
    ) -> None:
        """Describe the client; nothing connects yet.

        Args:
            region: The AWS region.
            endpoint_url: Another Polly endpoint (the emulator); None for AWS's.
            timeout_s: Connect and per-read budget of a request (one retry after).
            session: An aiobotocore session; None for a new one.
        """
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session or get_session()
        self._config = AioConfig(
            connect_timeout=min(2.0, timeout_s),
            read_timeout=timeout_s,
            retries={"total_max_attempts": 2, "mode": "standard"},
            max_pool_connections=POLLY_MAX_CONNECTIONS,
        )
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()

    async def get(self) -> Any:
        """The open client (an aiobotocore Polly client)."""
        async with self._opening:
            if self._client is None:
                self._client = await self._stack.enter_async_context(
                    self._session.create_client(
                        "polly",
                        region_name=self.region,
                        endpoint_url=self.endpoint_url,
                        config=self._config,
                    )
                )
            return self._client

    async def aclose(self) -> None:
        """Close the client's connections (it reopens on the next `get`)."""
        async with self._opening:
            self._client = None
            await self._stack.aclose()

    def __repr__(self) -> str:
        """The region and endpoint, never credentials."""
        return f"PollyClient(region={self.region!r}, endpoint_url={self.endpoint_url!r})"


class PollyTTS(TTSService):
    """Amazon Polly's neural engine on a shared client, its PCM streamed as it arrives.

    Pipecat's `AWSPollyTTSService` takes no endpoint URL, opens a client per sentence, waits for
    the whole audio, and builds a botocore session per instance (~40 ms a call); this service
    keeps its settings (`AWSPollyTTSService.Settings`) and its SSML, asks Polly for the
    pipeline's output rate where Polly has it (8 or 16 kHz PCM), and yields audio frames as
    the response body streams in.
    """

    Settings = AWSPollyTTSSettings
    _settings: AWSPollyTTSSettings

    def __init__(
        self,
        *,
        client: PollyClient,
        voice: str = POLLY_DEFAULT_VOICE,
        engine: str = "neural",
        **kwargs: Any,
    ) -> None:
        """Create the service.

        Args:
            client: The process's Polly client; the service does not close it.
            voice: A Polly VoiceId that `engine` supports.
            engine: "neural" (the default), "standard", "generative" or "long-form".
            **kwargs: Passed to Pipecat's `TTSService` (e.g. `sample_rate`).
        """
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=AWSPollyTTSSettings(
                model=None,
                voice=voice,
                language="en-US",
                engine=engine,
                pitch=None,
                rate=None,
                volume=None,
                lexicon_names=None,
            ),
            **kwargs,
        )
        self._polly = client

    def can_generate_metrics(self) -> bool:
        """Polly reports time to first byte."""
        return True

    def language_to_service_language(self, language: Language) -> str | None:
        """Polly's code for `language` (e.g. "en-US")."""
        return language_to_aws_language(language)

    def _ssml(self, text: str) -> str:
        # As Pipecat's Polly service writes it: the language, prosody if set, escaped text.
        settings = self._settings
        prosody = [
            f"{name}='{value}'"
            for name, value in (
                ("pitch", settings.pitch if settings.engine == "standard" else None),
                ("rate", settings.rate),
                ("volume", settings.volume),
            )
            if value
        ]
        body = escape(text)
        if prosody:
            body = f"<prosody {' '.join(prosody)}>{body}</prosody>"
        return f"<speak><lang xml:lang='{settings.language}'>{body}</lang></speak>"

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Synthesise `text` with Polly and yield its audio as it streams in."""
        settings = self._settings
        polly_rate = WHISPER_RATE if self.sample_rate > POLLY_PCM_RATES[0] else POLLY_PCM_RATES[0]
        request: dict[str, Any] = {
            "Text": self._ssml(text),
            "TextType": "ssml",
            "OutputFormat": "pcm",
            "SampleRate": str(polly_rate),
            "VoiceId": settings.voice,
            "Engine": settings.engine,
        }
        if settings.lexicon_names:
            request["LexiconNames"] = settings.lexicon_names
        try:
            polly = await self._polly.get()
            response = await polly.synthesize_speech(**request)
            await self.start_tts_usage_metrics(text)
            async with response["AudioStream"] as stream:

                async def audio() -> AsyncIterator[bytes]:
                    async for chunk in stream.iter_chunks(self.chunk_size):
                        yield chunk

                async for frame in self._stream_audio_frames_from_iterator(
                    audio(), in_sample_rate=polly_rate, context_id=context_id
                ):
                    await self.stop_ttfb_metrics()
                    yield frame
        except ClientError as exc:
            # The error code only: Polly's messages may quote the text (a patient's name).
            code = exc.response.get("Error", {}).get("Code", "unknown")
            yield ErrorFrame(error=f"Polly refused the synthesis: {code}")
        except (BotoCoreError, TimeoutError, OSError) as exc:
            yield ErrorFrame(error=f"Polly failed: {type(exc).__name__}")
        finally:
            await self.stop_ttfb_metrics()
