"""The conversation agent inside the Pipecat pipeline: caller turns in, sentences and actions out.

Placed after STT and the user-turn processor. It collects the transcripts of a caller turn,
asks the agent when the turn is over, and pushes each sentence to TTS as soon as the agent
yields it (the first sentence is speaking while the rest is still being decided). Actions go
to an `ActionSink` (telephony, DNC, the CRM record); `EndCall` ends the pipeline once the
goodbye has been spoken, and the serializer hangs up the call. A `Transfer` waits until its
one-line message has been played to the caller: the redirect that follows cuts the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    Frame,
    InterruptionFrame,
    StartFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from dentalvoice.conversation.agent import Action, Agent, Do, EndCall, Say, Transfer, TurnEvent

ActionSink = Callable[[Action], Awaitable[None]]

# A turn ended but its transcript has not arrived yet: how long to wait for it.
TRANSCRIPT_GRACE_S = 1.5
# The longest a transfer waits for its message to play (a TTS failure must not strand the
# caller, who asked for a person, with no transfer at all).
PLAYOUT_WAIT_S = 15.0


class AgentProcessor(FrameProcessor):
    """Drives one call's `Agent` from caller turns."""

    def __init__(self, *, agent: Agent, on_action: ActionSink | None = None) -> None:
        """Create the processor.

        Args:
            agent: The call's agent (guards included).
            on_action: Where actions go; None records them on the agent's state only.
        """
        super().__init__()
        self._agent = agent
        self._on_action = on_action
        self._heard: list[str] = []
        self._turn_over = False
        self._speaking_task: asyncio.Task[None] | None = None
        self._grace_task: asyncio.Task[None] | None = None
        self._ending = False
        self._muted = False
        # Sentences sent to TTS whose audio has not finished playing. The output transport
        # reports the end of each sentence's audio (a `BotStoppedSpeakingFrame` per TTS
        # context, in order with the audio), so the count reaching 0 means all was played.
        self._unplayed = 0
        self._played_out = asyncio.Event()
        self._played_out.set()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Route caller turns to the agent; pass every frame on."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._start_speaking(self._agent.opening())
        elif isinstance(frame, UserStartedSpeakingFrame):
            self._turn_over = False
        elif isinstance(frame, TranscriptionFrame) and frame.text.strip():
            self._heard.append(frame.text.strip())
            if self._turn_over:
                await self._answer()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self._turn_over = True
            if self._heard:
                await self._answer()
            else:
                self._grace_task = self.create_task(self._wait_for_transcript())
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._unplayed = max(0, self._unplayed - 1)
            if self._unplayed == 0:
                self._played_out.set()
        elif isinstance(frame, InterruptionFrame):
            # The caller talked over the agent: the rest of the reply is not spoken. The
            # agent's turn still runs to its end, so an action it decided (a do-not-call
            # after "Understood.") is never lost to an interruption.
            self._muted = True
            self._unplayed = 0
            self._played_out.set()

    async def _wait_for_transcript(self) -> None:
        await asyncio.sleep(TRANSCRIPT_GRACE_S)  # a deadline, not a wait for work
        self._turn_over = False  # noise without words: not a turn

    async def _answer(self) -> None:
        if self._grace_task is not None:
            await self.cancel_task(self._grace_task)
            self._grace_task = None
        utterance = " ".join(self._heard)
        self._heard.clear()
        self._turn_over = False
        # One agent turn at a time: the previous one finishes (muted if interrupted) first.
        if self._speaking_task is not None:
            await self._speaking_task
        self._start_speaking(self._agent.respond(utterance))

    def _start_speaking(self, events: AsyncIterator[TurnEvent]) -> None:
        if self._ending:
            return
        self._muted = False
        self._speaking_task = self.create_task(self._speak(events))

    async def _speak(self, events: AsyncIterator[TurnEvent]) -> None:
        async for event in events:
            if isinstance(event, Say):
                if self._muted:
                    continue
                self._unplayed += 1
                self._played_out.clear()
                await self.push_frame(TTSSpeakFrame(event.text))
            elif isinstance(event, Do):
                await self._act(event.action)

    async def _act(self, action: Action) -> None:
        if isinstance(action, Transfer):
            try:
                await asyncio.wait_for(self._played_out.wait(), timeout=PLAYOUT_WAIT_S)
            except TimeoutError:
                logger.warning("transfer message not played out in {} s", PLAYOUT_WAIT_S)
        if self._on_action is not None:
            try:
                await self._on_action(action)
            except Exception as exc:  # noqa: BLE001 - a failed action must not end the call
                logger.error(
                    "voice action {} failed: {}", type(action).__name__, type(exc).__name__
                )
        if isinstance(action, EndCall):
            # Queued behind the goodbye sentence, so it is spoken before the line closes.
            self._ending = True
            await self.push_frame(EndWorkerFrame(reason=type(action).__name__))
