"""A fake OpenAI-compatible chat completions server, for tests and benchmarks without the API."""

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
    "create_app",
    "serve_fake_openai",
]
