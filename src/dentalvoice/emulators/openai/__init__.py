"""A fake OpenAI-compatible server (chat completions, transcriptions) for tests and benchmarks."""

from dentalvoice.emulators.openai.policies import (
    ChatMessage,
    ChatRequest,
    EchoPolicy,
    FixedPolicy,
    Policy,
    PolicyReply,
    ScriptFollowingPolicy,
)
from dentalvoice.emulators.openai.server import FakeOpenAI, Fault, create_app, serve_fake_openai
from dentalvoice.emulators.openai.transcriptions import TranscriptionRequest

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "EchoPolicy",
    "FakeOpenAI",
    "Fault",
    "FixedPolicy",
    "Policy",
    "PolicyReply",
    "ScriptFollowingPolicy",
    "TranscriptionRequest",
    "create_app",
    "serve_fake_openai",
]
