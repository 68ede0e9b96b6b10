"""Which conversation agent a call gets, chosen by `LLM_PROVIDER`.

The scripted agent by default; with `openai`, the LLM agent on an OpenAI-compatible server,
which falls back to the script when a turn fails or times out. Both sit behind the guards.
"""

from __future__ import annotations

from collections.abc import Callable

from dentalvoice.config import Settings
from dentalvoice.conversation.agent import Agent, CallContext
from dentalvoice.conversation.factory import AgentKind, build_agent

AgentFactory = Callable[[CallContext], Agent]

# Per request; the agent's own turn deadline (LLM_TURN_TIMEOUT_S) bounds the whole turn, and
# its fallback to the script is the retry.
OPENAI_REQUEST_TIMEOUT_S = 10.0


def agent_factory(settings: Settings) -> AgentFactory:
    """A factory of per-call agents as `settings` asks.

    Args:
        settings: The process settings.

    Returns:
        A function building a fresh agent for one call's context.

    Raises:
        ValueError: `LLM_PROVIDER=openai` without `OPENAI_API_KEY`.
    """
    if settings.llm_provider != "openai":
        return lambda context: build_agent(context=context)
    if settings.openai_api_key is None:
        raise ValueError("OPENAI_API_KEY: required with LLM_PROVIDER=openai")
    import openai

    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout=OPENAI_REQUEST_TIMEOUT_S,
        max_retries=0,
    )

    def factory(context: CallContext) -> Agent:
        return build_agent(
            context=context,
            kind=AgentKind.OPENAI,
            llm_client=client,
            llm_model=settings.openai_model,
            llm_turn_timeout_s=settings.llm_turn_timeout_s,
        )

    return factory
