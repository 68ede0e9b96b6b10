"""A representative subset of the scenarios, run with the LLM agent against the fake server.

The fake server's `ScriptFollowingPolicy` is not a model; it plays one through the real
`openai` SDK (streamed chunks, fragmented tool calls), so these runs exercise the LLM agent's
whole path, and the guards around it, on the same scenario files as the scripted agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest

from dentalvoice.conversation.agent import Agent, CallContext
from dentalvoice.conversation.evaluation import run_paths
from dentalvoice.conversation.factory import AgentKind, build_agent
from dentalvoice.emulators.openai import FakeOpenAI, create_app
from dentalvoice.emulators.openai.policies import ScriptFollowingPolicy

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
SUBSET = [
    "standard-molar-pain",  # full qualification, BCBS, Saturday mornings
    "emergency-swelling-fever",  # red flags: the guards transfer, whatever the model says
    "dnc-at-opening",  # opt-out before any question
    "stop-alone",
    "after-hours-swallowing",  # 911 message when no human can take the call
    "clinical-question-ibuprofen",  # no advice leaves the agent
    "book-first-slot",  # booked through the calendar, confirmed after it holds the slot
    "book-slot-calendar-down",  # never "booked" when the calendar could not book
    "book-slot-taken-offers-next",  # a slot just taken: one other offered and booked
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    yield create_app(ScriptFollowingPolicy(), api_key="test-key")


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake))
    llm = openai.AsyncOpenAI(
        api_key="test-key", base_url="http://fake/v1", http_client=http, max_retries=0
    )
    try:
        yield llm
    finally:
        await llm.close()
        await http.aclose()


async def test_llm_agent_passes_the_subset(client: openai.AsyncOpenAI, fake: FakeOpenAI) -> None:
    def factory(context: CallContext) -> Agent:
        return build_agent(context=context, kind=AgentKind.OPENAI, llm_client=client)

    report = await run_paths([SCENARIOS / f"{name}.yaml" for name in SUBSET], agent_factory=factory)

    failures = {
        r.scenario.name: [str(c) for c in r.failures] for r in report.results if not r.passed
    }
    assert failures == {}
    # The model was really asked: at least one streamed completion per scenario that got past
    # the opening without a guard ending it.
    assert fake.streams_completed >= 2
