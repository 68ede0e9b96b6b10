"""Small fake agents for testing the evaluation harness without the real agent."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from dentalvoice.conversation.agent import (
    Agent,
    CallContext,
    CallState,
    Do,
    EndCall,
    Say,
    Transfer,
    TransferReason,
    TurnEvent,
)
from dentalvoice.conversation.qualification import InsuranceStatus, Outcome

_NUMBER = re.compile(r"\b(\d{1,2})\b")


class QualifyingAgent(Agent):
    """Asks pain then insurance, records them naively, says goodbye."""

    QUESTIONS = (
        "On a scale from zero to ten, how bad is the pain?",
        "Do you have dental insurance? If so, which company is it with?",
    )

    def __init__(self, state: CallState) -> None:
        super().__init__(state)
        self.step = 0

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say(f"Hi, this is {self.state.context.agent_name}, an AI assistant.")
        yield Say("Is now a good time for a couple of quick questions?")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        q = self.state.qualification
        if self.step == 1 and utterance and (m := _NUMBER.search(utterance)):
            q.pain_level = int(m.group(1))
        if self.step == 2 and utterance:
            q.insurance.status = InsuranceStatus.HAS
            q.insurance.carrier = utterance.removeprefix("I have ").rstrip(".")
        if self.step < len(self.QUESTIONS):
            yield Say("Thanks.")
            yield Say(self.QUESTIONS[self.step])
            self.step += 1
            return
        q.outcome = Outcome.QUALIFIED
        self.state.finished = True
        yield Say("Thanks, the team will be in touch. Have a great day!")
        yield Do(EndCall())


class LoopingAgent(Agent):
    """Never finishes: asks the same question forever."""

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Is now a good time?")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        yield Say("Sorry, is now a good time?")


class TransferringAgent(Agent):
    """Transfers as soon as the caller mentions a number of 8 or more."""

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Hello. Are you in any pain? On a scale of 0 to 10, how bad is it?")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        m = _NUMBER.search(utterance or "")
        if m is None:
            # A turn that says nothing: no first sentence to time.
            return
        self.state.qualification.pain_level = int(m.group(1))
        if int(m.group(1)) >= self.state.context.emergency_pain_threshold:
            self.state.qualification.outcome = Outcome.EMERGENCY_TRANSFERRED
            self.state.finished = True
            yield Say("I'm connecting you with our team now. Please stay on the line.")
            yield Do(Transfer(TransferReason.EMERGENCY, "pain"))
            return
        yield Say("How bad is the pain, from zero to ten?")


class GoodbyeWithoutFinishingAgent(Agent):
    """Says goodbye but forgets to mark the call finished."""

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Is now a good time?")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        yield Say("Okay, goodbye!")


class BrokenAgent(Agent):
    """Raises on the first caller turn."""

    async def opening(self) -> AsyncIterator[TurnEvent]:
        yield Say("Is now a good time?")

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        raise RuntimeError("boom")
        yield Say("unreachable")  # makes this an async generator


class RecordingFactory:
    """An agent factory for one fake agent class that keeps the contexts it was given."""

    def __init__(self, cls: type[Agent]) -> None:
        self.cls = cls
        self.contexts: list[CallContext] = []

    def __call__(self, context: CallContext) -> Agent:
        self.contexts.append(context)
        return self.cls(CallState(context=context))
