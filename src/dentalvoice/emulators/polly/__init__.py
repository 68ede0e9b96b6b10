"""A fake Amazon Polly (SynthesizeSpeech, spoken by local Piper) for tests and benchmarks."""

from dentalvoice.emulators.polly.server import (
    FakePolly,
    Fault,
    ReceivedSpeech,
    create_app,
    serve_fake_polly,
)
from dentalvoice.emulators.polly.speech import PollyError, SpeechRequest

__all__ = [
    "FakePolly",
    "Fault",
    "PollyError",
    "ReceivedSpeech",
    "SpeechRequest",
    "create_app",
    "serve_fake_polly",
]
