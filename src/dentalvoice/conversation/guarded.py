"""Safety guards around any agent: red flags and opt-outs win over whatever the agent says.

Every caller utterance is checked before the agent sees it: an opt-out ends the call with a
do-not-call action, a red flag hands the call to a human (or, with no human available, gives
the after-hours emergency message). Every sentence the agent says is checked on its way out and
clinical advice is replaced by a safe line.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from dentalvoice.conversation import guards, nlu
from dentalvoice.conversation.agent import (
    Agent,
    Checkpoint,
    Do,
    EndCall,
    MarkDoNotCall,
    Say,
    Transfer,
    TransferReason,
    TurnEvent,
)
from dentalvoice.conversation.qualification import LIFE_THREATENING, Outcome, Urgency
from dentalvoice.conversation.script import Script
from dentalvoice.conversation.scripted import sentences
from dentalvoice.conversation.summary import note_summary

_PAIN_QUESTION = re.compile(r"\b(pain|scale|hurt|zero to ten|0 to 10|out of (10|ten))\b", re.I)


class GuardedAgent(Agent):
    """Wraps an agent (scripted or LLM) and enforces the guards on every turn."""

    def __init__(self, inner: Agent, *, script: Script) -> None:
        super().__init__(inner.state)
        self.inner = inner
        self.script = script

    def checkpoint(self) -> Checkpoint:
        """The inner agent's checkpoint (the guards keep nothing of their own)."""
        return self.inner.checkpoint()

    def restore(self, checkpoint: Checkpoint) -> None:
        """Restore the inner agent (and so the shared state)."""
        self.inner.restore(checkpoint)

    async def opening(self) -> AsyncIterator[TurnEvent]:
        """The inner agent's opening, with the outgoing check."""
        async for event in self._checked(self.inner.opening()):
            yield event

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:
        """Guards first; the inner agent only when no guard fired."""
        if self.state.finished:
            return
        text = (utterance or "").strip()
        if text:
            handled = self._guard(text)
            if handled is not None:
                self.state.caller_turns += 1
                self.state.transcript.append(("caller", text))
                spoken = " ".join(e.text for e in handled if isinstance(e, Say))
                self.state.transcript.append(("agent", spoken))
                self.state.actions.extend(e.action for e in handled if isinstance(e, Do))
                for event in handled:
                    yield event
                return
        async for event in self._checked(self.inner.respond(utterance)):
            yield event

    def _last_question_was_pain(self) -> bool:
        for speaker, said in reversed(self.state.transcript):
            if speaker == "agent":
                return bool(_PAIN_QUESTION.search(said))
        return False

    def _guard(self, text: str) -> list[TurnEvent] | None:
        ctx = self.state.context
        q = self.state.qualification
        if guards.wants_opt_out(text):
            q.opted_out = True
            q.outcome = Outcome.OPTED_OUT
            q.summary = note_summary(q)
            self.state.finished = True
            return [
                *[Say(s) for s in sentences(self.script.line("opt_out", ctx))],
                Do(MarkDoNotCall()),
                Do(EndCall()),
            ]
        pain = nlu.pain_level(text, asked=self._last_question_was_pain())
        if pain is None:
            pain = q.pain_level
        flags = guards.red_flags(text, pain=pain, threshold=ctx.emergency_pain_threshold)
        if not flags:
            return None
        if pain is not None:
            q.pain_level = pain
        q.add_red_flags(flags)
        q.urgency = Urgency.EMERGENCY
        if q.chief_complaint is None:
            q.chief_complaint = nlu.chief_complaint(text)
        self.state.finished = True
        if ctx.transfer_available:
            q.outcome = Outcome.EMERGENCY_TRANSFERRED
            q.summary = note_summary(q)
            line = self.script.line("emergency_transfer", ctx)
            action: Transfer | EndCall = Transfer(
                reason=TransferReason.EMERGENCY, summary=q.summary
            )
        else:
            q.outcome = Outcome.EMERGENCY_AFTER_HOURS
            q.summary = note_summary(q)
            serious = any(f in LIFE_THREATENING for f in flags)
            line = self.script.line("emergency_911" if serious else "emergency_morning", ctx)
            action = EndCall()
        return [*[Say(s) for s in sentences(line)], Do(action)]

    async def _checked(self, events: AsyncIterator[TurnEvent]) -> AsyncIterator[TurnEvent]:
        replaced = False
        async for event in events:
            if isinstance(event, Say) and guards.clinical_advice(event.text):
                if not replaced:
                    replaced = True
                    yield Say(guards.SAFE_REPLACEMENT)
                continue
            if isinstance(event, Do):
                self.state.actions.append(event.action)
            yield event
