"""The agent inside the pipeline, driven by frames alone (no audio, no models)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    InterruptionFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.tests.utils import SleepFrame, run_test

from dentalvoice.conversation.agent import (
    Action,
    Agent,
    CallContext,
    CallState,
    Do,
    EndCall,
    MarkDoNotCall,
    Say,
    Transfer,
    TransferReason,
    TurnEvent,
)
from dentalvoice.voice.agent_processor import AgentProcessor


def a_context() -> CallContext:
    return CallContext(
        clinic_name="Test Dental", timezone="America/New_York", now=datetime.now(UTC)
    )


class ListAgent(Agent):
    """Says its opening, then answers every turn with `reply`, recording what it heard."""

    def __init__(self, *, opening: list[TurnEvent], reply: list[TurnEvent]) -> None:
        super().__init__(CallState(context=a_context()))
        self._opening = opening
        self._reply = reply
        self.heard: list[str | None] = []

    async def opening(self) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        for event in self._opening:
            yield event

    async def respond(self, utterance: str | None) -> AsyncIterator[TurnEvent]:  # type: ignore[override]
        self.heard.append(utterance)
        for event in self._reply:
            yield event


class Timeline(BaseObserver):
    """The order things happened in: frames the agent processor pushed, and actions."""

    def __init__(self, processor: list[AgentProcessor]) -> None:
        super().__init__()
        self._processor = processor
        self.events: list[str] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        if not data.first_push:
            return
        if isinstance(data.frame, BotStoppedSpeakingFrame):  # sent in by the test
            self.events.append("played")
        if data.source is not self._processor[0]:
            return
        if isinstance(data.frame, TTSSpeakFrame):
            self.events.append(f"say:{data.frame.text}")
        elif isinstance(data.frame, EndWorkerFrame):
            self.events.append("end")


def caller_turn(text: str) -> list[object]:
    return [
        UserStartedSpeakingFrame(),
        TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z", finalized=True),
        SleepFrame(0.1),
        UserStoppedSpeakingFrame(),
    ]


async def run(agent: ListAgent, frames: list[object]) -> tuple[list[str], list[Action]]:
    done: list[Action] = []
    holder: list[AgentProcessor] = []
    timeline = Timeline(holder)

    async def sink(action: Action) -> None:
        done.append(action)
        timeline.events.append(f"do:{type(action).__name__}")

    processor = AgentProcessor(agent=agent, on_action=sink)
    holder.append(processor)
    await run_test(
        processor,
        frames_to_send=frames,  # type: ignore[arg-type]
        observers=[timeline],
        send_end_frame=True,
    )
    return timeline.events, done


async def test_the_opening_is_spoken_first_and_a_turn_reaches_the_agent_whole() -> None:
    agent = ListAgent(opening=[Say("Hi."), Say("Is now good?")], reply=[Say("Great.")])

    events, _ = await run(
        agent,
        [
            UserStartedSpeakingFrame(),
            TranscriptionFrame("yes it", "caller", "2026-12-02T10:00:00Z", finalized=True),
            TranscriptionFrame("is", "caller", "2026-12-02T10:00:01Z", finalized=True),
            # Turn frames are system frames and overtake queued transcripts; in the pipeline
            # the turn ends only once its transcript is in.
            SleepFrame(0.1),
            UserStoppedSpeakingFrame(),
            SleepFrame(0.2),
        ],
    )

    assert events == ["say:Hi.", "say:Is now good?", "say:Great."]
    assert agent.heard == ["yes it is"]


async def test_a_transfer_waits_until_its_message_has_played() -> None:
    agent = ListAgent(
        opening=[],
        reply=[
            Say("I'm connecting you with the team now."),
            Do(Transfer(reason=TransferReason.REQUESTED, summary="asked for a person")),
        ],
    )

    events, done = await run(
        agent,
        # The message's audio takes a while to play; the transfer must not cut it off.
        [*caller_turn("can I talk to a person"), SleepFrame(0.3), BotStoppedSpeakingFrame()],
    )

    assert events == ["say:I'm connecting you with the team now.", "played", "do:Transfer"]
    assert [type(a) for a in done] == [Transfer]


async def test_an_interruption_mutes_the_rest_of_the_reply_but_not_its_actions() -> None:
    agent = ListAgent(
        opening=[],
        reply=[Say("Understood."), Do(MarkDoNotCall()), Say("Goodbye."), Do(EndCall())],
    )

    events, done = await run(
        agent,
        [*caller_turn("stop calling me"), InterruptionFrame(), SleepFrame(0.2)],
    )

    # The do-not-call is carried out whatever the caller heard; the call still ends.
    assert [type(a) for a in done] == [MarkDoNotCall, EndCall]
    assert "do:MarkDoNotCall" in events and events[-1] == "end"
