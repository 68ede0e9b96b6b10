"""SynthesizeSpeech requests as Amazon Polly checks them, and its error replies.

The request is the JSON body botocore sends for `POST /v1/speech` (Polly's rest-json protocol):
`Text`, `VoiceId`, `OutputFormat` required; `Engine`, `LanguageCode`, `LexiconNames`,
`SampleRate`, `SpeechMarkTypes`, `TextType` optional. The allowed values come from botocore's
own Polly model, so the emulator accepts exactly what the SDK can name. Errors are Polly's:
status, `x-amzn-ErrorType` header and `{"message": ...}` body, which botocore turns into
`ClientError` with the same code.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# Polly's limits for SynthesizeSpeech (TextLengthExceededException's documentation).
MAX_TEXT_CHARS = 6000
MAX_BILLED_CHARS = 3000
PCM_RATES = ("8000", "16000")


class PollyError(Exception):
    """A request Polly refuses: HTTP status, error code (`x-amzn-ErrorType`) and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        """Status and code (the message may quote the request)."""
        return f"PollyError(status={self.status!r}, code={self.code!r})"


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """A valid SynthesizeSpeech request; `words` is the text to speak (SSML tags removed)."""

    text: str
    voice_id: str
    output_format: str
    sample_rate: int
    engine: str
    text_type: str
    language_code: str | None = None
    words: str = ""
    lexicon_names: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_body(cls, body: Any) -> SpeechRequest:
        """Validate a decoded JSON body as Polly does.

        Raises:
            PollyError: A missing or unknown value, an unsupported rate, too much text, bad
                SSML, or a lexicon (the emulator stores none).
        """
        if not isinstance(body, dict):
            raise PollyError(400, "SerializationException", "Start of structure expected")
        problems: list[str] = []
        for member in ("Text", "VoiceId", "OutputFormat"):
            if body.get(member) is None:
                problems.append(
                    f"Value null at '{_camel(member)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for member in ("VoiceId", "OutputFormat", "Engine", "TextType", "LanguageCode"):
            value = body.get(member)
            allowed = enum(member)
            if value is not None and value not in allowed:
                problems.append(
                    f"Value '{value}' at '{_camel(member)}' failed to satisfy constraint: "
                    f"Member must satisfy enum value set: [{', '.join(allowed)}]"
                )
        for member in ("Text", "SampleRate", "VoiceId", "OutputFormat", "Engine", "TextType"):
            value = body.get(member)
            if value is not None and not isinstance(value, str):
                raise PollyError(400, "SerializationException", f"{member} must be a string")
        if problems:
            count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''}"
            raise PollyError(400, "ValidationException", f"{count} detected: {'; '.join(problems)}")
        return cls._checked(body)

    @classmethod
    def _checked(cls, body: dict[str, Any]) -> SpeechRequest:
        output_format, text = body["OutputFormat"], body["Text"]
        text_type = body.get("TextType") or "text"
        if body.get("SpeechMarkTypes"):
            raise PollyError(
                400,
                "MarksNotSupportedForFormatException",
                "Speech marks are only available with the json OutputFormat.",
            )
        if output_format != "pcm":
            raise PollyError(
                400,
                "ValidationException",
                f"The emulator synthesises pcm only, not {output_format}",
            )
        sample_rate = body.get("SampleRate") or "16000"
        if sample_rate not in PCM_RATES:
            raise PollyError(
                400, "InvalidSampleRateException", f"Invalid sample rate {sample_rate} for pcm."
            )
        words = _ssml_words(text) if text_type == "ssml" else text
        if len(text) > MAX_TEXT_CHARS or len(words) > MAX_BILLED_CHARS:
            raise PollyError(
                400,
                "TextLengthExceededException",
                f"Maximum text length has been exceeded: {MAX_BILLED_CHARS} billed characters.",
            )
        lexicons = tuple(body.get("LexiconNames") or ())
        if lexicons:
            raise PollyError(404, "LexiconNotFoundException", f"Lexicon not found: {lexicons[0]}")
        return cls(
            text=text,
            voice_id=body["VoiceId"],
            output_format=output_format,
            sample_rate=int(sample_rate),
            engine=body.get("Engine") or "standard",
            text_type=text_type,
            language_code=body.get("LanguageCode"),
            words=" ".join(words.split()),
            lexicon_names=lexicons,
        )


@cache
def enum(shape: str) -> tuple[str, ...]:
    """The values botocore's Polly model allows for an enum shape (e.g. "VoiceId")."""
    from botocore.loaders import create_loader

    model = create_loader().load_service_model("polly", "service-2")
    return tuple(str(v) for v in model["shapes"][shape]["enum"])


def _camel(member: str) -> str:
    return member[0].lower() + member[1:]


def _ssml_words(text: str) -> str:
    # Polly accepts a <speak> document only; what is spoken is its text content.
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise PollyError(400, "InvalidSsmlException", "Invalid SSML request") from exc
    if re.sub(r"^\{.*\}", "", root.tag) != "speak":
        raise PollyError(400, "InvalidSsmlException", "Invalid SSML request")
    return "".join(root.itertext())
