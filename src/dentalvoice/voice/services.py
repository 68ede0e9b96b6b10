"""Pipecat speech services on the process's shared local models.

Pipecat's own Whisper and Piper services load (or download) their model per instance, which
costs about half a second a call and duplicates the weights in memory; these subclasses take
the models `voice.models` loaded once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import numpy as np
from pipecat.frames.frames import ErrorFrame, Frame, VADUserStoppedSpeakingFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.tts_service import TTSService
from pipecat.services.whisper.stt import WhisperSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from dentalvoice.voice import models
from dentalvoice.voice.speech_cache import SpeechCache
from dentalvoice.voice.transcriber import MIN_WINDOW_S, SAMPLE_RATE, transcriber_for
from dentalvoice.voice.utterance import UtteranceStartFrame, UtteranceTranscriptionFrame


class LocalWhisperSTT(WhisperSTTService):
    """faster-whisper on the shared model (`tiny.en` by default), int8 on the CPU.

    Each utterance is transcribed on a window fit to it (`voice.transcriber`), ~4x faster than
    Pipecat's stock `transcribe()` on its 30 s window. Pipecat's segmented STT already starts
    when Silero hears the speech stop, while Smart Turn is still deciding whether the turn is
    over, so by the time the turn is decided the transcript is usually there.

    Silero cuts an answer at its pauses; each piece after the first is transcribed together
    with the ones before it in the same utterance (`voice.utterance`), and its transcript
    replaces theirs. The window does not grow for it: an utterance is transcribed whole only
    while it fits in the shortest window. Whisper is primed with what the agent said before
    the utterance began.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        window_s: int | None = MIN_WINDOW_S,
        **kwargs: Any,
    ) -> None:
        """Create the service.

        Args:
            model: A CTranslate2 Whisper directory; None for the bundled `tiny.en`.
            window_s: The shortest window encoded; None runs Pipecat's stock transcription
                (the benchmarks' baseline).
            **kwargs: Passed to Pipecat's `WhisperSTTService`.
        """
        self._model_name = model
        self._window_s = window_s
        # The utterance's pieces transcribed so far (16 kHz float samples), and for each piece
        # queued for transcription, when it opens an utterance, the agent's words before it.
        self._pieces: list[np.ndarray] = []
        self._opens: deque[str | None] = deque()
        self._opening: str | None = None
        self._context = ""  # the agent's words the utterance answers
        super().__init__(
            settings=WhisperSTTService.Settings(model=str(models.whisper_model_path(model))),
            device="cpu",
            compute_type="int8",
            **kwargs,
        )

    def _load(self) -> None:
        self._model = models.whisper(self._model_name)
        if self._window_s is not None:
            self._transcriber = transcriber_for(self._model, min_window_s=self._window_s)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Note where the caller's utterances start; everything else as Pipecat does."""
        if isinstance(frame, UtteranceStartFrame):
            # Silero has heard the speech start: it is the piece being spoken now.
            self._opening = frame.context
            return
        await super().process_frame(frame, direction)

    async def _handle_user_stopped_speaking(self, frame: VADUserStoppedSpeakingFrame) -> None:
        queued = self.is_usable  # (Pipecat drops the piece when it is not)
        await super()._handle_user_stopped_speaking(frame)
        if queued:
            self._opens.append(self._opening)
            self._opening = None

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        """Transcribe one piece of speech (16-bit PCM at 16 kHz) in a worker thread, with the
        pieces of its utterance before it."""
        if self._window_s is None:
            async for frame in super().run_stt(audio):
                yield frame
            return
        samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768.0
        opens = self._opens.popleft() if self._opens else None
        if opens is not None:
            self._context = opens
        longest = (self._window_s - 1) * SAMPLE_RATE
        if opens is not None or sum(p.shape[0] for p in self._pieces) + len(samples) > longest:
            self._pieces.clear()
        pieces = [*self._pieces, samples]
        await self.start_processing_metrics()
        try:
            heard = await asyncio.to_thread(
                self._transcriber.transcribe, np.concatenate(pieces), context=self._context
            )
        except Exception as exc:  # noqa: BLE001 - reported to the pipeline, never raised
            yield ErrorFrame(error=f"whisper failed: {type(exc).__name__}")
            return
        finally:
            await self.stop_processing_metrics()
        if not heard.text or heard.silent:
            return  # noise: the utterance is what it was
        replaces = bool(self._pieces)
        self._pieces = pieces
        await self._handle_transcription(heard.text, True, Language.EN)
        # One piece, one final transcript: marking it so lets the turn end the moment it
        # arrives, instead of after Pipecat's STT safety-net timeout.
        yield UtteranceTranscriptionFrame(
            heard.text,
            self._user_id,
            time_now_iso8601(),
            Language.EN,
            finalized=True,
            replaces_previous=replaces,
        )


# Piper opens every sentence with digital silence (about -90 dBFS) before the onset ramps up:
# 28-61 ms under -60 dBFS at the line's rate (tests/voice/test_services.py), dead air the caller
# waits through before every answer. Cut to one 5 ms window before the first window above
# -60 dBFS, far under what a listener (or the simulated caller's -40 dBFS threshold) hears.
LEAD_WINDOW_S = 0.005
LEAD_THRESHOLD_DBFS = -60.0


def trim_leading_silence(pcm: bytes, *, sample_rate: int) -> bytes:
    """16-bit mono `pcm` from one window before its first window of sound; unchanged if none."""
    window = max(1, round(sample_rate * LEAD_WINDOW_S))
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16)
    whole = len(samples) // window * window
    frames = samples[:whole].astype(np.float32).reshape(-1, window)
    rms = np.sqrt((frames**2).mean(axis=1))
    loud = np.flatnonzero(rms > 32768 * 10 ** (LEAD_THRESHOLD_DBFS / 20))
    if loud.size == 0:
        return pcm
    return pcm[max(0, int(loud[0]) - 1) * window * 2 :]


class LocalPiperTTS(TTSService):
    """Piper on the shared voice (`en_US-joe-medium` by default), with sentences cached."""

    Settings = PiperTTSService.Settings

    def __init__(
        self,
        *,
        voice: str | None = None,
        cache: SpeechCache | None = None,
        trim_lead: bool = True,
        **kwargs: Any,
    ) -> None:
        """Create the service.

        Args:
            voice: A Piper `.onnx` voice; None for the bundled joe-medium.
            cache: Sentences already synthesised in this voice (shared by the process's calls).
            trim_lead: Cut the silence Piper opens each sentence with (Pipecat's own Piper
                service keeps it, as the latency benchmark's stock configuration does).
            **kwargs: Passed to Pipecat's `TTSService`.
        """
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=PiperTTSService.Settings(model=None, voice="local", language=None),
            **kwargs,
        )
        self._voice = models.piper(voice)
        self._cache = cache
        self._trim_lead = trim_lead

    def can_generate_metrics(self) -> bool:
        """Piper reports time to first byte."""
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Speak `text`: from the cache, or synthesised in a thread as it is produced."""
        cached = self._cache.get(text) if self._cache is not None else None
        spoken: list[bytes] = []

        async def audio() -> AsyncIterator[bytes]:
            if cached is not None:
                yield cached
                return
            chunks: Iterator[Any] = iter(self._voice.synthesize(text))
            rate = self._voice.config.sample_rate

            def next_chunk() -> bytes | None:
                item = next(chunks, None)
                if item is None:
                    return None
                audio = bytes(item.audio_int16_bytes)
                if spoken or not self._trim_lead:
                    return audio
                return trim_leading_silence(audio, sample_rate=rate)

            while (chunk := await asyncio.to_thread(next_chunk)) is not None:
                spoken.append(chunk)
                yield chunk
            # Only a sentence synthesised to its end is kept (this line is not reached when
            # an interruption cancels the synthesis).
            if self._cache is not None:
                self._cache.put(text, b"".join(spoken))

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


def presynthesize(*, cache: SpeechCache, texts: list[str], voice: str | None = None) -> int:
    """Synthesise `texts` into `cache`, their opening silence cut as `LocalPiperTTS` cuts it by
    default (blocking: run it in a worker thread).

    Args:
        cache: Where the audio goes.
        texts: Sentences to have ready; those already cached are skipped.
        voice: See `LocalPiperTTS`.

    Returns:
        How many sentences were synthesised.
    """
    piper = models.piper(voice)
    made = 0
    for text in texts:
        if text in cache:
            continue
        audio = b"".join(bytes(c.audio_int16_bytes) for c in piper.synthesize(text))
        cache.put(text, trim_leading_silence(audio, sample_rate=piper.config.sample_rate))
        made += 1
    return made
