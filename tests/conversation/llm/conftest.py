"""Fixtures for the LLM agent: a call, a fake fallback agent, and the fake OpenAI server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import openai
import pytest
from loguru import logger

from dentalvoice.conversation.agent import Agent, CallContext, CallState, Say, TurnEvent
from dentalvoice.conversation.llm import OpenAIAgent
from dentalvoice.conversation.script import Script, load_script
from dentalvoice.emulators.openai import FakeOpenAI, FixedPolicy, PolicyReply, create_app

ZONE = ZoneInfo("America/New_York")
CALL_START = datetime(2025, 3, 3, 10, 0, tzinfo=ZONE)
SLOT_1 = datetime(2025, 3, 4, 9, 0, tzinfo=ZONE)
SLOT_2 = datetime(2025, 3, 4, 14, 30, tzinfo=ZONE)
FALLBACK_LINE = "Fallback reply."


class FakeFallback(Agent):
    """A stand-in for the scripted agent: records the turns it was given, says one line."""

    def __init__(self, state: CallState) -> None:
        super().__init__(state)
        self.turns: list[str | None] = []

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Fallback opening.")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        # The same transcript bookkeeping as ScriptedAgent.respond.
        self.turns.append(utterance)
        self.state.caller_turns += 1
        if utterance and utterance.strip():
            self.state.transcript.append(("caller", utterance.strip()))
        self.state.transcript.append(("agent", FALLBACK_LINE))
        yield Say(FALLBACK_LINE)


@pytest.fixture
def context() -> CallContext:
    return CallContext(
        clinic_name="Bright Smiles Dental",
        timezone="America/New_York",
        now=CALL_START,
        lead_first_name="Maria",
        free_slots=(SLOT_1, SLOT_2),
    )


@pytest.fixture
def state(context: CallContext) -> CallState:
    return CallState(context=context)


@pytest.fixture
def script() -> Script:
    return load_script()


@pytest.fixture
def fallback(state: CallState) -> FakeFallback:
    return FakeFallback(state)


@pytest.fixture
def app() -> FakeOpenAI:
    """The fake server; tests set `app.policy` and the latency and fault attributes."""
    return create_app(FixedPolicy(PolicyReply("Hello.")), api_key="test")


@pytest.fixture
async def client(app: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real SDK talking to the fake in-process (bodies arrive whole: no streaming timing)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    sdk = openai.AsyncOpenAI(api_key="test", base_url="http://fake/v1", http_client=http)
    try:
        yield sdk
    finally:
        await sdk.close()
        await http.aclose()


MakeAgent = Callable[..., OpenAIAgent]


@pytest.fixture
def make_agent(
    state: CallState, script: Script, client: openai.AsyncOpenAI, fallback: FakeFallback
) -> MakeAgent:
    def make(**overrides: object) -> OpenAIAgent:
        options: dict[str, object] = {
            "script": script,
            "client": client,
            "fallback": fallback,
            "turn_timeout_s": 5.0,
        }
        options.update(overrides)
        return OpenAIAgent(state, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every loguru message logged during the test."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), format="{message}")
    try:
        yield lines
    finally:
        logger.remove(sink)
