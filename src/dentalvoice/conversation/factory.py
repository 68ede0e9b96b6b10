"""Building the agent for one call: scripted or LLM, always behind the guards."""

from __future__ import annotations

import enum
from dataclasses import replace

import openai

from dentalvoice.conversation import nlu
from dentalvoice.conversation.agent import Agent, CallContext, CallState
from dentalvoice.conversation.calendar import StaticCalendar
from dentalvoice.conversation.guarded import GuardedAgent
from dentalvoice.conversation.script import Script, load_script
from dentalvoice.conversation.scripted import ScriptedAgent


class AgentKind(enum.StrEnum):
    """Which brain talks: the deterministic script, or an OpenAI-compatible model."""

    SCRIPTED = "scripted"
    OPENAI = "openai"


def build_agent(
    *,
    context: CallContext,
    kind: AgentKind | str = AgentKind.SCRIPTED,
    script: Script | None = None,
    llm_client: openai.AsyncOpenAI | None = None,
    llm_model: str = "gpt-4o",
    llm_turn_timeout_s: float = 8.0,
) -> Agent:
    """A fresh agent for one call. The LLM agent falls back to the scripted one on failure."""
    nlu.warm_up()  # once per process, before the caller speaks
    script = script or load_script()
    if context.calendar is None:
        # One in-memory calendar for the LLM agent and its fallback alike.
        context = replace(context, calendar=StaticCalendar(context.free_slots))
    state = CallState(context=context)
    scripted = ScriptedAgent(state, script=script)
    inner: Agent = scripted
    if AgentKind(kind) is AgentKind.OPENAI:
        if llm_client is None:
            raise ValueError("the openai agent needs an OpenAI client (OPENAI_API_KEY)")
        from dentalvoice.conversation.llm.agent import OpenAIAgent

        inner = OpenAIAgent(
            state,
            script=script,
            client=llm_client,
            model=llm_model,
            turn_timeout_s=llm_turn_timeout_s,
            fallback=scripted,
        )
    return GuardedAgent(inner, script=script)
