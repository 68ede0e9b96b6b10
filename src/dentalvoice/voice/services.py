"""Pipecat speech services on the process's shared local models.

Pipecat's own Whisper and Piper services load (or download) their model per instance, which
costs about half a second a call and duplicates the weights in memory; these subclasses take
the models `voice.models` loaded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.whisper.stt import WhisperSTTService

from dentalvoice.voice import models


class LocalWhisperSTT(WhisperSTTService):
    """faster-whisper on the shared model (`tiny.en` by default), int8 on the CPU."""

    def __init__(self, *, model: str | None = None, **kwargs: Any) -> None:
        """Create the service.

        Args:
            model: A CTranslate2 Whisper directory; None for the bundled `tiny.en`.
            **kwargs: Passed to Pipecat's `WhisperSTTService`.
        """
        self._model_name = model
        super().__init__(
            settings=WhisperSTTService.Settings(model=str(models.whisper_model_path(model))),
            device="cpu",
            compute_type="int8",
            **kwargs,
        )

    def _load(self) -> None:
        self._model = models.whisper(self._model_name)


class LocalPiperTTS(TTSService):
    """Piper on the shared voice (`en_US-joe-medium` by default)."""

    Settings = PiperTTSService.Settings

    def __init__(self, *, voice: str | None = None, **kwargs: Any) -> None:
        """Create the service.

        Args:
            voice: A Piper `.onnx` voice; None for the bundled joe-medium.
            **kwargs: Passed to Pipecat's `TTSService`.
        """
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=PiperTTSService.Settings(model=None, voice="local", language=None),
            **kwargs,
        )
        self._voice = models.piper(voice)

    def can_generate_metrics(self) -> bool:
        """Piper reports time to first byte."""
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Synthesize `text` sentence by sentence, in a thread, as audio frames."""
        chunks: Iterator[Any] = iter(self._voice.synthesize(text))

        def next_chunk() -> bytes | None:
            item = next(chunks, None)
            return None if item is None else bytes(item.audio_int16_bytes)

        async def audio() -> AsyncIterator[bytes]:
            while (chunk := await asyncio.to_thread(next_chunk)) is not None:
                yield chunk

        try:
            await self.start_tts_usage_metrics(text)
            async for frame in self._stream_audio_frames_from_iterator(
                audio(), in_sample_rate=self._voice.config.sample_rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                yield frame
        except Exception as exc:  # noqa: BLE001 - reported to the pipeline, never raised
            yield ErrorFrame(error=f"piper failed: {type(exc).__name__}")
        finally:
            await self.stop_ttfb_metrics()
