"""`POST /v1/audio/transcriptions` for the fake OpenAI server: real audio in, real text out.

The request is the multipart form the official SDK sends (`file`, `model`, optional
`language`, `prompt`, `response_format`, `temperature`). The fake reads WAV only (what
Pipecat uploads) and transcribes it with the process's local faster-whisper model
(`dentalvoice.voice.models.whisper`), so a pipeline on the cloud STT path hears what was said.
It is not OpenAI's model: accuracy and timing are the local model's (plus any added latency).
"""

from __future__ import annotations

import io
import json
import math
import wave
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import numpy as np

from dentalvoice.callers.audio import WHISPER_RATE, FloatArray, pcm_to_float, resample
from dentalvoice.voice import models

SUPPORTED_FORMATS = ("json", "text", "verbose_json")
# What the real API lists when it cannot read the upload.
_FILE_FORMATS = "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"
# The real API's upload limit.
MAX_FILE_BYTES = 25 * 1024 * 1024


class FormError(ValueError):
    """The request cannot be transcribed; `param` names the offending form field."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """One valid transcription request, as the fake understood it."""

    model: str
    language: str | None
    prompt: str | None
    response_format: str
    sample_rate: int  # the uploaded WAV's
    channels: int
    duration_s: float

    @classmethod
    def parse(cls, content_type: str, body: bytes) -> tuple[TranscriptionRequest, FloatArray]:
        """Read the multipart form: the request and its audio as 16 kHz mono float32.

        Raises:
            FormError: Not a multipart form, a missing field, or a file that is not WAV.
        """
        if len(body) > MAX_FILE_BYTES:
            raise FormError("Maximum content size limit (26214400) exceeded.", param="file")
        fields, upload = _form(content_type, body)
        model = fields.get("model", "").strip()
        if not model:
            raise FormError("you must provide a model parameter", param="model")
        if upload is None:
            raise FormError("Missing required parameter: 'file'.", param="file")
        response_format = fields.get("response_format", "json")
        if response_format not in SUPPORTED_FORMATS:
            raise FormError(
                f"response_format {response_format!r} is not one the emulator writes "
                f"({', '.join(SUPPORTED_FORMATS)})",
                param="response_format",
            )
        audio, rate, channels = _read_wav(upload)
        request = cls(
            model=model,
            language=fields.get("language") or None,
            prompt=fields.get("prompt") or None,
            response_format=response_format,
            sample_rate=rate,
            channels=channels,
            duration_s=audio.shape[0] / WHISPER_RATE,
        )
        return request, audio


def transcribe(audio: FloatArray, request: TranscriptionRequest, model: str | None) -> str:
    """The words in `audio` (blocking: run it in a worker thread).

    Args:
        audio: 16 kHz mono float32.
        request: Its language and prompt steer the model.
        model: The local Whisper model directory; None for the bundled `tiny.en`.

    Returns:
        The text, stripped.
    """
    whisper = models.whisper(model)
    segments, _ = whisper.transcribe(
        audio, language=request.language, initial_prompt=request.prompt
    )
    return " ".join(segment.text.strip() for segment in segments).strip()


def reply(request: TranscriptionRequest, text: str) -> tuple[str, bytes]:
    """The response body in the requested format, with its content type."""
    usage = {"type": "duration", "seconds": math.ceil(request.duration_s)}
    if request.response_format == "text":
        return "text/plain; charset=utf-8", f"{text}\n".encode()
    body: dict[str, Any] = {"text": text, "usage": usage}
    if request.response_format == "verbose_json":
        body = {
            "task": "transcribe",
            "language": "english" if request.language in (None, "en") else request.language,
            "duration": request.duration_s,
            "text": text,
            "segments": [],
            "usage": usage,
        }
    return "application/json", json.dumps(body).encode()


def _form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    if not content_type.lower().startswith("multipart/form-data"):
        raise FormError("Content-Type must be multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise FormError("Could not parse multipart form.")
    fields: dict[str, str] = {}
    upload: bytes | None = None
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == "file":
            upload = payload
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, upload


def _read_wav(data: bytes) -> tuple[FloatArray, int, int]:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise FormError(f"Invalid file format. Supported formats: {_FILE_FORMATS}") from exc
    if width != 2 or channels < 1 or rate < 1000:
        raise FormError("The emulator reads 16-bit PCM WAV only.", param="file")
    pcm = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], dtype="<i2")
    mono = pcm_to_float(pcm.reshape(-1, channels).mean(axis=1).astype(np.int16))
    return resample(mono, rate, WHISPER_RATE), rate, channels
